import { spawn } from "node:child_process";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { functionAgents } from "../../core/agents/manifest.ts";
import { agentProcess } from "../../core/agents/process.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { tradeEventType } from "../../core/domain/trading.ts";
import { BATCH_KIND, BatchResult } from "../../core/functions/run.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { streamOf, subjects } from "../../core/subjects.ts";
import { privateNats, testBus } from "../../test/nats.ts";
import { testDatabase } from "../../test/postgres.ts";
import { deploymentPlan } from "../../core/agents/deployment-plan.ts";
import { repoRoot } from "../generate.ts";
import { bundleFunctions, crc32, nativePackageFiles, zip } from "./bundle.ts";
import { createOrUpdate, DeployOptions, triggerEnvironment } from "./deploy.ts";

const prefix = agentProcess.lambdaPrefix(agentProcess.localApp.app, agentProcess.localApp.stage);

/** A subject matching a consumed wildcard (`cmd.backtesting.>` → `cmd.backtesting.sample`). */
const concrete = (pattern: string) => pattern.replace(">", "sample").replaceAll("*", "x");

/** The sample event a function gets: a trading-control change for events.trade.>, a sample command otherwise. */
function sampleBatch(fn: (typeof functionAgents)[number]) {
  const pattern = fn.consumes[0] ?? "";
  const trade = pattern === subjects.trade.all;
  const subject = trade ? subjects.trade.control("limits") : concrete(pattern);
  const event = makeEvent({
    type: trade ? tradeEventType.limits : "sample.requested",
    source: "risk",
    subject,
    data: { max_leverage: 2 },
  });
  return {
    kind: BATCH_KIND,
    function: fn.name,
    stream: streamOf(subject)?.name ?? "EVENTS",
    messages: [{ seq: 1, subject, deliveryCount: 1, event }],
    now: Date.now(),
  };
}

/** An API Gateway v2 (function URL) HTTP event. */
function httpEvent(method: "GET" | "POST", path: string, body?: unknown) {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: path,
    rawQueryString: "",
    headers: { "content-type": "application/json", host: "fn.lambda-url.us-east-1.on.aws" },
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: "fn.lambda-url.us-east-1.on.aws",
      domainPrefix: "fn",
      http: { method, path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "bot4-test" },
      requestId: "req-1",
      routeKey: "$default",
      stage: "$default",
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    isBase64Encoded: false,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  };
}

const HttpResult = z.object({ statusCode: z.number(), body: z.string() });
const ToolList = z.object({ tools: z.array(z.object({ name: z.string() })).min(1) });

describe("zip", () => {
  it("computes the standard CRC-32 and writes an archive whose entry inflates back to the input", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    const data = new TextEncoder().encode("export const handler = async () => 42;\n".repeat(50));
    const archive = zip([{ name: "index.mjs", data }]);
    expect(archive.readUInt32LE(0)).toBe(0x04034b50);
    const nameLength = archive.readUInt16LE(26);
    const size = archive.readUInt32LE(18);
    const body = archive.subarray(30 + nameLength, 30 + nameLength + size);
    expect(new TextDecoder().decode(inflateRawSync(body))).toBe(new TextDecoder().decode(data));
    expect(archive.readUInt32LE(archive.length - 22)).toBe(0x06054b50);
  });
});

describe("LocalStack bundles, served by the project's local Lambda host and invoked with the AWS SDK", async () => {
  // Inside the repository, so the bundles resolve their native externals (onnxruntime-node) the way
  // a deployment package's node_modules/ does.
  mkdirSync(join(repoRoot, ".bot4"), { recursive: true });
  const out = mkdtempSync(join(repoRoot, ".bot4", "lambda-test-"));
  const report = await bundleFunctions(repoRoot, out);
  const nats = await privateNats();
  await ensureTopology(await testBus(nats.url));

  // `npm run functions:host -- --bundles <dir>` in its own process: Node loads the bundles natively.
  const [cmd, ...args] = ["node", "--import", "tsx", "functions/lambda-host/main.ts", "--bundles", out];
  const hostProcess = spawn(cmd ?? "node", args, {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? "",
      LOG_LEVEL: "warn",
      LAMBDA_HOST_PORT: "0",
      LAMBDA_FUNCTION_PREFIX: prefix,
      NATS_URL: nats.url,
      // The ledger's Lambda projects into PostgreSQL (a database of its own, dropped after the file).
      POSTGRES_URL: await testDatabase("bot4_lambda_host"),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let hostOutput = "";
  const hostUrl = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      hostOutput += d.toString();
      const m = /Lambda Invoke API at (http:\/\/\S+) for: (.*)/.exec(hostOutput);
      if (m?.[1] !== undefined) resolve(m[1]);
    };
    hostProcess.stdout?.on("data", onData);
    hostProcess.stderr?.on("data", onData);
    hostProcess.once("exit", (code) => reject(new Error(`lambda host exited with ${code}: ${hostOutput}`)));
  });
  const served = /for: (.*)/.exec(hostOutput)?.[1]?.split(", ") ?? [];
  const env = triggerEnvironment({ endpoint: hostUrl, region: "us-east-1" });
  const client = new LambdaClient({
    endpoint: env.AWS_ENDPOINT_URL,
    region: env.AWS_REGION,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
  afterAll(() => {
    client.destroy();
    hostProcess.kill("SIGTERM");
    rmSync(out, { recursive: true, force: true });
  });
  const invoke = async (fn: string, payload: unknown) => {
    const r = await client.send(
      new InvokeCommand({
        FunctionName: `${env.LAMBDA_FUNCTION_PREFIX}${fn}`,
        Payload: JSON.stringify(payload),
      }),
    );
    return { error: r.FunctionError, body: JSON.parse(new TextDecoder().decode(r.Payload)) as unknown };
  };
  it("bundles every function agent that has a handler and names the ones that do not", () => {
    const withHandler = functionAgents.filter((f) =>
      existsSync(join(repoRoot, agentProcess.handlerFile(f.name))),
    );
    expect(report.bundles.map((b) => b.agent)).toEqual(withHandler.map((f) => f.name));
    expect(report.missing).toEqual(functionAgents.filter((f) => !withHandler.includes(f)).map((f) => f.name));
    expect(report.bundles.length).toBeGreaterThan(0);
    expect(served.sort()).toEqual(report.bundles.map((b) => `${prefix}${b.agent}`).sort());
  });

  it("packages the native modules a bundle imports, Linux binaries for the Lambda's architecture only", () => {
    for (const b of report.bundles) {
      const files = nativePackageFiles(repoRoot, readFileSync(b.file, "utf8"));
      const importsOnnx = readFileSync(b.file, "utf8").includes('"onnxruntime-node"');
      expect(
        files.some((f) => f.endsWith("onnxruntime_binding.node")),
        b.agent,
      ).toBe(importsOnnx);
      expect(
        files.filter((f) => /bin\/napi-v\d+\/(darwin|win32)|linux\/arm64/.test(f)),
        b.agent,
      ).toEqual([]);
    }
  });

  it("each bundle answers a trigger batch: effects, or a precise schema refusal of the sample", async () => {
    for (const b of report.bundles) {
      const fn = functionAgents.find((f) => f.name === b.agent);
      if (fn === undefined) throw new Error(`${b.agent} is not a function agent`);
      const { error, body } = await invoke(b.agent, sampleBatch(fn));
      if (error === undefined) expect(BatchResult.safeParse(body).success, b.agent).toBe(true);
      else expect(body, b.agent).toMatchObject({ errorType: "SchemaError" });
    }
  });

  it("each bundle answers HTTP tool calls: the tool list, and a precise InvalidParams for empty args", async () => {
    for (const b of report.bundles) {
      const list = HttpResult.parse((await invoke(b.agent, httpEvent("GET", "/tools"))).body);
      expect(list.statusCode, b.agent).toBe(200);
      const tools = ToolList.parse(JSON.parse(list.body)).tools;
      const call = HttpResult.parse(
        (await invoke(b.agent, httpEvent("POST", `/tools/${tools[0]?.name}`, {}))).body,
      );
      expect([200, 400], b.agent).toContain(call.statusCode);
      if (call.statusCode === 400) expect(JSON.parse(call.body)).toMatchObject({ error: { code: -32602 } });
    }
  });

  it("the compliance bundle records a trading-control change and dry-runs an order over HTTP", async () => {
    const compliance = functionAgents.find((f) => f.name === "compliance");
    if (compliance === undefined || !served.includes(`${prefix}compliance`))
      throw new Error("no compliance bundle");
    const { error, body } = await invoke("compliance", sampleBatch(compliance));
    expect(error).toBeUndefined();
    const result = BatchResult.parse(body);
    expect(result.records.map((r) => r.kind)).toEqual(["control"]);
    const check = HttpResult.parse(
      (
        await invoke(
          "compliance",
          httpEvent("POST", "/tools/check_order", {
            account: "acc-1",
            symbol: "BTC/USDT",
            side: "buy",
            amount: 0.01,
            price: 50_000,
          }),
        )
      ).body,
    );
    expect(check.statusCode, check.body).toBe(200);
    expect(JSON.parse(check.body)).toMatchObject({ allowed: expect.any(Boolean) });
  });
});

/** The entries of a zip archive written by {@link zip} (deflate or stored), read from its central directory. */
function unzip(archive: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const end = archive.length - 22;
  const count = archive.readUInt16LE(end + 10);
  let p = archive.readUInt32LE(end + 16);
  for (let i = 0; i < count; i++) {
    const method = archive.readUInt16LE(p + 10);
    const size = archive.readUInt32LE(p + 20);
    const nameLength = archive.readUInt16LE(p + 28);
    const extra = archive.readUInt16LE(p + 30) + archive.readUInt16LE(p + 32);
    const local = archive.readUInt32LE(p + 42);
    const name = archive.subarray(p + 46, p + 46 + nameLength).toString("utf8");
    const start = local + 30 + archive.readUInt16LE(local + 26) + archive.readUInt16LE(local + 28);
    const body = archive.subarray(start, start + size);
    out.set(name, method === 8 ? inflateRawSync(body) : Buffer.from(body));
    p += 46 + nameLength + extra;
  }
  return out;
}

/**
 * A stand-in for the Lambda control plane LocalStack serves (GetFunction, CreateFunction,
 * UpdateFunctionCode, UpdateFunctionConfiguration, in the REST dialect the AWS SDK speaks), keeping
 * what was deployed so the test can check it. Invocation is the project's local Lambda host's job.
 */
async function lambdaControlPlane() {
  const functions = new Map<string, { config: Record<string, unknown>; zip: Buffer; updates: number }>();
  const notFound = (res: ServerResponse, name: string) => {
    res.writeHead(404, {
      "content-type": "application/json",
      "x-amzn-errortype": "ResourceNotFoundException",
    });
    res.end(JSON.stringify({ Type: "User", message: `Function not found: ${name}` }));
  };
  const describe = (name: string) => {
    const f = functions.get(name);
    return { ...f?.config, FunctionName: name, State: "Active", LastUpdateStatus: "Successful" };
  };
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (d: Buffer) => {
      text += d.toString();
    });
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      const m = /^\/2015-03-31\/functions(?:\/([^/]+))?(?:\/(code|configuration))?$/.exec(url.pathname);
      const name = decodeURIComponent(m?.[1] ?? "");
      const body = text.length > 0 ? (JSON.parse(text) as Record<string, unknown>) : {};
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      if (m === null) return json(400, { message: `unexpected ${req.method} ${url.pathname}` });
      if (req.method === "GET" && name !== "" && m[2] === undefined) {
        return functions.has(name) ? json(200, { Configuration: describe(name) }) : notFound(res, name);
      }
      if (req.method === "POST" && name === "") {
        const { Code, ...config } = body as { Code: { ZipFile: string }; FunctionName: string };
        functions.set(config.FunctionName, { config, zip: Buffer.from(Code.ZipFile, "base64"), updates: 0 });
        return json(201, describe(config.FunctionName));
      }
      const f = functions.get(name);
      if (f === undefined) return notFound(res, name);
      if (req.method === "PUT" && m[2] === "code") {
        f.zip = Buffer.from(String(body.ZipFile), "base64");
        f.updates++;
        return json(200, describe(name));
      }
      if (req.method === "PUT" && m[2] === "configuration") {
        f.config = { ...f.config, ...body };
        f.updates++;
        return json(200, describe(name));
      }
      return json(400, { message: `unexpected ${req.method} ${url.pathname}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    functions,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("createOrUpdate through @aws-sdk/client-lambda against a Lambda control plane", async () => {
  const out = mkdtempSync(join(repoRoot, ".bot4", "lambda-deploy-test-"));
  const plane = await lambdaControlPlane();
  const client = new LambdaClient({
    endpoint: plane.url,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
  afterAll(async () => {
    client.destroy();
    await plane.stop();
    rmSync(out, { recursive: true, force: true });
  });
  const compliance = functionAgents.filter((f) => f.name === "compliance");
  const { bundles } = await bundleFunctions(repoRoot, out, compliance);
  const plan = deploymentPlan(agentProcess.localApp.app, agentProcess.localApp.stage).functions.find(
    (f) => f.agent === "compliance",
  );
  const options = DeployOptions.parse({
    endpoint: plane.url,
    region: "us-east-1",
    role: "arn:aws:iam::000000000000:role/bot4-local-lambda",
    natsHost: "nats:4222",
    outDir: out,
  });

  it("creates the function from the plan on the first deploy and updates code and configuration on the next", async () => {
    const bundle = bundles[0];
    if (bundle === undefined || plan === undefined) throw new Error("no compliance bundle or plan");
    const env = { BOT4_NATS_PASSWORD_COMPLIANCE: "pSecret0123456789abc" };
    const first = await createOrUpdate(client, plan, bundle, options, repoRoot, env);
    expect(first).toMatchObject({ action: "created", lambdaName: `${prefix}compliance` });
    const stored = plane.functions.get(`${prefix}compliance`);
    expect(stored?.config).toMatchObject({
      Runtime: "nodejs20.x",
      Handler: "compliance.handler",
      MemorySize: plan.memoryMb,
      Timeout: plan.timeoutSeconds,
      Role: options.role,
      Environment: { Variables: { NATS_URL: "nats://compliance:pSecret0123456789abc@nats:4222" } },
    });
    const second = await createOrUpdate(client, plan, bundle, options, repoRoot, env);
    expect(second.action).toBe("updated");
    expect(plane.functions.get(`${prefix}compliance`)?.updates).toBe(2);
  });

  it("uploads a package whose handler file is the bundle, byte for byte", () => {
    const stored = plane.functions.get(`${prefix}compliance`);
    const files = unzip(stored?.zip ?? Buffer.alloc(0));
    expect([...files.keys()]).toEqual(["compliance.mjs"]);
    expect(files.get("compliance.mjs")?.equals(readFileSync(bundles[0]?.file ?? ""))).toBe(true);
  });
});
