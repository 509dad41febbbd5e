import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CreateFunctionCommand,
  GetFunctionCommand,
  LambdaClient,
  ResourceNotFoundException,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from "@aws-sdk/client-lambda";
import { z } from "zod";
import { agentProcess } from "../../core/agents/process.ts";
import { type FunctionPlan, deploymentPlan } from "../../core/agents/deployment-plan.ts";
import { passwordVariable } from "../nats/permissions.ts";
import { type BundleReport, bundleFunctions, type FunctionBundle, zipBundle } from "./bundle.ts";

/**
 * `npm run localstack:deploy`: bundles every function agent that has a handler (esbuild), creates
 * or updates it in LocalStack's Lambda through @aws-sdk/client-lambda, and writes the environment
 * that points the trigger's Lambda invoker at it. Names, memory and timeouts come from the same
 * deployment plan as the SST stacks (stage `local`), so LocalStack runs what AWS would.
 */
export const DeployOptions = z.object({
  /** The Lambda endpoint (LocalStack's edge port). */
  endpoint: z.string().url({ message: "must be a URL (e.g. http://localhost:4566)" }),
  region: z.string().min(1),
  /** Any role ARN: LocalStack does not enforce IAM. */
  role: z.string().min(1),
  /** `host:port` of NATS as the Lambda containers reach it (the compose service `nats`). */
  natsHost: z.string().min(1),
  outDir: z.string().min(1),
});
export type DeployOptions = z.infer<typeof DeployOptions>;

export interface DeployedFunction {
  readonly agent: string;
  readonly lambdaName: string;
  readonly action: "created" | "updated";
  readonly bytes: number;
}

export interface DeployReport extends BundleReport {
  readonly deployed: readonly DeployedFunction[];
  /** The environment that makes the trigger invoke these Lambdas. */
  readonly triggerEnv: Readonly<Record<string, string>>;
}

const plan = () => deploymentPlan(agentProcess.localApp.app, agentProcess.localApp.stage);

/** The Lambda's environment: the plan's literals, and NATS_URL with the function's own NATS user when its password is known. */
export function lambdaEnvironment(
  f: FunctionPlan,
  options: DeployOptions,
  env: NodeJS.ProcessEnv,
): Record<string, string> {
  const password = env[passwordVariable(f.agent)];
  return {
    ...f.environment.literal,
    ENVIRONMENT: "development",
    NATS_URL:
      password === undefined || password === ""
        ? `nats://${options.natsHost}`
        : `nats://${f.agent}:${password}@${options.natsHost}`,
    ...(env.BOT4_API_KEYS !== undefined ? { BOT4_API_KEYS: env.BOT4_API_KEYS } : {}),
  };
}

/** Creates the Lambda, or updates its code and configuration when it exists; waits until it is ready. */
export async function createOrUpdate(
  client: LambdaClient,
  f: FunctionPlan,
  bundle: FunctionBundle,
  options: DeployOptions,
  root: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<DeployedFunction> {
  const ZipFile = zipBundle(bundle, root);
  const configuration = {
    FunctionName: f.lambdaName,
    Runtime: f.runtime,
    Handler: bundle.handler,
    MemorySize: f.memoryMb,
    Timeout: f.timeoutSeconds,
    Environment: { Variables: lambdaEnvironment(f, options, env) },
  } as const;
  const waiter = { client, maxWaitTime: 120, minDelay: 1, maxDelay: 5 };
  let exists = true;
  try {
    await client.send(new GetFunctionCommand({ FunctionName: f.lambdaName }));
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
    exists = false;
  }
  if (!exists) {
    await client.send(new CreateFunctionCommand({ ...configuration, Role: options.role, Code: { ZipFile } }));
    await waitUntilFunctionActiveV2(waiter, { FunctionName: f.lambdaName });
    return { agent: f.agent, lambdaName: f.lambdaName, action: "created", bytes: ZipFile.length };
  }
  await client.send(new UpdateFunctionCodeCommand({ FunctionName: f.lambdaName, ZipFile }));
  await waitUntilFunctionUpdatedV2(waiter, { FunctionName: f.lambdaName });
  await client.send(new UpdateFunctionConfigurationCommand(configuration));
  await waitUntilFunctionUpdatedV2(waiter, { FunctionName: f.lambdaName });
  return { agent: f.agent, lambdaName: f.lambdaName, action: "updated", bytes: ZipFile.length };
}

/** The trigger's environment for Lambdas at `endpoint` (config.ts: FUNCTION_INVOKER, AWS_ENDPOINT_URL, …). */
export function triggerEnvironment(
  options: Pick<DeployOptions, "endpoint" | "region">,
): Record<string, string> {
  return {
    FUNCTION_INVOKER: "lambda",
    AWS_ENDPOINT_URL: options.endpoint,
    AWS_REGION: options.region,
    LAMBDA_FUNCTION_PREFIX: agentProcess.lambdaPrefix(agentProcess.localApp.app, agentProcess.localApp.stage),
  };
}

export async function deployToLocalStack(
  root: string,
  options: DeployOptions,
  client: LambdaClient = new LambdaClient({ endpoint: options.endpoint, region: options.region }),
  env: NodeJS.ProcessEnv = process.env,
): Promise<DeployReport> {
  const report = await bundleFunctions(root, options.outDir);
  const deployed: DeployedFunction[] = [];
  const functions = plan().functions;
  for (const bundle of report.bundles) {
    const f = functions.find((p) => p.agent === bundle.agent);
    if (f === undefined) throw new Error(`bundle ${bundle.agent} is not a function of the deployment plan`);
    deployed.push(await createOrUpdate(client, f, bundle, options, root, env));
  }
  return { ...report, deployed, triggerEnv: triggerEnvironment(options) };
}

const root = fileURLToPath(new URL("../../", import.meta.url));

async function main(argv: readonly string[]): Promise<void> {
  const flag = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const options = DeployOptions.parse({
    endpoint: flag("--endpoint") ?? process.env.AWS_ENDPOINT_URL ?? "http://localhost:4566",
    region: flag("--region") ?? process.env.AWS_REGION ?? "us-east-1",
    role: flag("--role") ?? "arn:aws:iam::000000000000:role/bot4-local-lambda",
    natsHost: flag("--nats-host") ?? "nats:4222",
    outDir: flag("--out") ?? join(root, ".bot4", "lambda"),
  });
  // LocalStack accepts any credentials; the SDK insists on some.
  process.env.AWS_ACCESS_KEY_ID ??= "test";
  process.env.AWS_SECRET_ACCESS_KEY ??= "test";
  const report = await deployToLocalStack(root, options);
  for (const d of report.deployed) console.log(`${d.action} ${d.lambdaName} (${d.bytes} bytes zipped)`);
  if (report.missing.length > 0) {
    console.log(
      `no handler yet (not deployed): ${report.missing.map((m) => agentProcess.handlerFile(m)).join(", ")}`,
    );
  }
  const envFile = join(root, ".bot4", "localstack.env");
  mkdirSync(join(root, ".bot4"), { recursive: true });
  const lines = Object.entries(report.triggerEnv).map(([k, v]) => `${k}=${v}`);
  writeFileSync(envFile, `${lines.join("\n")}\n`);
  console.log(`trigger environment written to ${envFile}:\n  ${lines.join(" ")}`);
  console.log(`run the trigger against it: env $(cat ${envFile} | xargs) npm start`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
