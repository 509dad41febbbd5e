import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { functionAgents, manifest, serviceAgents } from "../../core/agents/manifest.ts";
import { agentProcess } from "../../core/agents/process.ts";
import { repoRoot } from "../../infra/generate.ts";
import { deploymentPlan, exchangeVenues, pascal, secretNames } from "../../core/agents/deployment-plan.ts";
import { installSstRecorder, type SstConfigModule } from "./sst-recorder.ts";

const Env = z.record(z.string(), z.string());
const FunctionArgs = z.object({
  name: z.string(),
  handler: z.string(),
  runtime: z.literal("nodejs20.x"),
  memory: z.string().regex(/^\d+ MB$/),
  timeout: z.string().regex(/^\d+ seconds$/),
  concurrency: z.object({ reserved: z.number().int().positive() }),
  environment: Env,
  link: z.array(z.unknown()),
  url: z.object({ authorization: z.literal("iam") }),
  nodejs: z.object({ install: z.array(z.string()) }).optional(),
});
const Image = z.object({ context: z.literal("."), dockerfile: z.string() });
const ServiceArgs = z.object({
  image: Image.optional(),
  environment: Env.optional(),
  containers: z.array(z.object({ name: z.string(), image: Image, environment: Env })).optional(),
  health: z.object({ command: z.array(z.string()) }).optional(),
  scaling: z.object({ min: z.number().int(), max: z.number().int() }),
  loadBalancer: z.unknown().optional(),
  serviceRegistry: z.object({ port: z.number().int() }).optional(),
  link: z.array(z.unknown()),
  permissions: z.array(z.object({ actions: z.array(z.string()), resources: z.array(z.string()) })).optional(),
});

const stage = "prod";
const secret = (name: string) => `{{secret:${name}}}`;
const natsUrlOf = (user: string) =>
  `nats://${user}:${secret(secretNames.natsPassword(user))}@${secret(secretNames.natsHost)}`;

describe("sst.config.ts evaluated with a recording stand-in for SST", async () => {
  const sst = installSstRecorder({ name: "bot4", stage });
  afterAll(() => sst.uninstall());
  const config = ((await import(pathToFileURL(join(repoRoot, "sst.config.ts")).href)) as SstConfigModule)
    .default;
  const outputs = await config.run();
  const fns = sst.of("sst.aws.Function").map((r) => ({ name: r.name, args: FunctionArgs.parse(r.args) }));
  const services = sst.of("sst.aws.Service").map((r) => ({ name: r.name, args: ServiceArgs.parse(r.args) }));
  const plan = deploymentPlan("bot4", stage, undefined, undefined, (f) => existsSync(join(repoRoot, f)));
  /** Function agents with a handler: what can be deployed today (the others wait for their handler.ts). */
  const implemented = functionAgents.filter((a) =>
    existsSync(join(repoRoot, agentProcess.handlerFile(a.name))),
  );

  it("deploys every manifest agent exactly once, as its kind", () => {
    const deployedAs = new Map<string, string[]>();
    for (const f of plan.functions) {
      if (fns.some((r) => r.name === f.resource))
        deployedAs.set(f.agent, [...(deployedAs.get(f.agent) ?? []), "function"]);
    }
    for (const s of plan.services) {
      if (services.some((r) => r.name === s.resource))
        deployedAs.set(s.agent, [...(deployedAs.get(s.agent) ?? []), "service"]);
    }
    const waiting = functionAgents.filter((a) => !implemented.includes(a)).map((a) => a.name);
    expect(plan.notYetImplemented).toEqual(waiting);
    expect(Object.fromEntries(deployedAs)).toEqual(
      Object.fromEntries(manifest.filter((a) => !waiting.includes(a.name)).map((a) => [a.name, [a.kind]])),
    );
    expect(implemented.length).toBeGreaterThan(0);
    expect(fns).toHaveLength(implemented.length);
    expect(services).toHaveLength(serviceAgents.length + 1); // + the trigger
    const keys = sst.records.map((r) => `${r.type}:${r.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("makes each function agent a nodejs20.x Lambda on its handler, with its own NATS user and an HTTP entry", () => {
    for (const agent of implemented) {
      const f = fns.find((r) => r.args.handler === agentProcess.lambdaHandler(agent.name));
      expect(f, agent.name).toBeDefined();
      expect(f?.args.name).toBe(`bot4-${stage}-${agent.name}`);
      const install = (f?.args.nodejs?.install ?? []).join(",");
      expect(install, "native and unbundlable packages are installed, not bundled").toBe(
        agent.name === "backtesting" ? "ccxt,onnxruntime-node" : "",
      );
      expect(f?.args.environment.NATS_URL).toBe(natsUrlOf(agent.name));
      expect(f?.args.environment.BOT4_API_KEYS).toBe(secret(secretNames.apiKeys));
      expect(Object.keys(f?.args.environment ?? {}).some((k) => k.endsWith("_API_KEY"))).toBe(false);
    }
    expect(outputs).toMatchObject(
      Object.fromEntries(implemented.map((a) => [`${a.name}Tools`, expect.any(String)])),
    );
  });

  it("makes each hot-path agent a container service of the Dockerfile, started as itself, with a health check", () => {
    for (const agent of serviceAgents) {
      const s = services.find((r) => r.args.environment?.[agentProcess.roleVariable] === agent.name);
      expect(s, agent.name).toBeDefined();
      expect(s?.args.image?.dockerfile).toBe(agentProcess.dockerfile);
      expect(existsSync(join(repoRoot, agentProcess.dockerfile))).toBe(true);
      expect(s?.args.health?.command).toEqual(["CMD", ...agentProcess.healthCommand]);
      expect(s?.args.serviceRegistry?.port).toBe(agent.port);
      expect(s?.args.environment?.NATS_URL).toBe(natsUrlOf(agent.name));
      expect(s?.args.environment?.BOT4_HOST).toBe("0.0.0.0");
      expect(s?.args.scaling.min).toBeGreaterThanOrEqual(1);
      expect(s?.args.scaling.max).toBeGreaterThanOrEqual(s?.args.scaling.min ?? 0);
      const hasVenueKeys = Object.keys(s?.args.environment ?? {}).includes(
        `${exchangeVenues[0].toUpperCase()}_API_KEY`,
      );
      expect(hasVenueKeys, `${agent.name} holds venue keys`).toBe(agent.name === "exchange");
    }
    const exchange = services.find((s) => s.args.environment?.AGENT === "exchange");
    expect(exchange?.args.scaling.max).toBe(1);
    expect(exchange?.args.environment?.EXCHANGE_VENUES).toBe(exchangeVenues.join(","));
    expect(outputs).toHaveProperty("coordinator");
  });

  it("runs one trigger shard per deployed function, as that function's NATS user, allowed to invoke exactly those Lambdas", () => {
    const trigger = services.find((s) => s.name === "Trigger");
    const shards = trigger?.args.containers ?? [];
    expect(shards.map((c) => c.environment[agentProcess.functionsVariable]).sort()).toEqual(
      implemented.map((a) => a.name).sort(),
    );
    for (const c of shards) {
      const fn = c.environment[agentProcess.functionsVariable] ?? "";
      expect(c.environment.NATS_URL).toBe(natsUrlOf(fn));
      expect(c.environment.FUNCTION_INVOKER).toBe("lambda");
      expect(`${c.environment.LAMBDA_FUNCTION_PREFIX}${fn}`).toBe(`bot4-${stage}-${fn}`);
      const timeout = Number(fns.find((f) => f.args.name.endsWith(`-${fn}`))?.args.timeout.split(" ")[0]);
      expect(Number(c.environment.TRIGGER_ACK_WAIT_MS)).toBeGreaterThan(timeout * 1000);
    }
    expect(trigger?.args.permissions).toEqual([
      {
        actions: ["lambda:InvokeFunction"],
        resources: implemented.map(
          (a) => `arn:aws:lambda:test:000000000000:function:${pascal(a.name)}Function`,
        ),
      },
    ]);
  });

  it("declares exchange keys, BOT4_API_KEYS, the NATS host and one NATS password per agent as secrets", () => {
    expect(
      sst
        .of("sst.Secret")
        .map((r) => r.name)
        .sort(),
    ).toEqual(
      [
        "Bot4ApiKeys",
        "NatsHost",
        "BinanceApiKey",
        "BinanceSecret",
        ...manifest.map((a) => secretNames.natsPassword(a.name)),
      ].sort(),
    );
  });
});
