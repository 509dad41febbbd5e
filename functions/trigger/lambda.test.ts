import { InvokeCommand, LambdaClient, ResourceNotFoundException } from "@aws-sdk/client-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bus } from "../../adapters/nats/bus.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import type { Config } from "../../core/config.ts";
import { type Order, tradeEventType } from "../../core/domain/trading.ts";
import { createLambdaHandler, type LambdaHandler } from "../../adapters/lambda/handler.ts";
import { BATCH_KIND, type BatchPayload, parseInbound } from "../../core/functions/run.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { streams, subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { Registry } from "../../core/telemetry/metrics.ts";
import { eventually, privateNats, testBus } from "../../test/nats.ts";
import { definition as compliance } from "../compliance/function.ts";
import { type RunningLambdaHost, startLambdaHost } from "../lambda-host/host.ts";
import { FunctionFailedError } from "./invoker.ts";
import { lambdaInvoker } from "./lambda.ts";
import { triggerMetrics } from "./metrics.ts";
import { readStream, testConfig } from "./testing.ts";
import { startTrigger } from "./trigger.ts";

const logger = quietLogger("lambda-test");
const baseConfig = testConfig({ COMPLIANCE_RESTRICTED_SYMBOLS: "LUNA/USDT" });

const restrictedOrder: Order = {
  id: "o-luna",
  clientOrderId: "c-luna",
  account: "alice",
  venue: "paper",
  symbol: "LUNA/USDT",
  side: "buy",
  type: "limit",
  amount: 10,
  price: 0.5,
  status: "submitted",
  filled: 0,
  remaining: 10,
  createdAt: 1_700_000_000_000,
  updatedAt: 1_700_000_000_000,
};

const orderEvent = (o: Order) =>
  makeEvent({
    type: tradeEventType.order(o.status),
    source: "exchange",
    subject: subjects.trade.order(o.status),
    data: o,
  });

function payloadOf(o: Order): BatchPayload {
  return {
    kind: BATCH_KIND,
    function: "compliance",
    stream: streams.EVENTS.name,
    messages: [{ seq: 1, subject: subjects.trade.order(o.status), deliveryCount: 1, event: orderEvent(o) }],
    now: Date.now(),
  };
}

let host: RunningLambdaHost;
let release: (() => void) | undefined;
let nats: Awaited<ReturnType<typeof privateNats>>;
let bus: Bus;

beforeAll(async () => {
  nats = await privateNats();
  bus = await testBus(nats.url);
  await ensureTopology(bus);
  const real = createLambdaHandler(compliance, {
    config: testConfig({ COMPLIANCE_RESTRICTED_SYMBOLS: "LUNA/USDT", NATS_URL: nats.url }),
    logger,
  });
  const failing: LambdaHandler = async () => {
    throw new TypeError("compliance rules could not be loaded");
  };
  // Holds its first invocation until released, so a second one meets the concurrency limit (1).
  let held = false;
  const slow: LambdaHandler = async (event, context) => {
    if (!held) {
      held = true;
      await new Promise<void>((r) => (release = r));
    }
    return real(event, context);
  };
  host = await startLambdaHost({
    handlers: new Map([
      ["compliance", real],
      ["broken-compliance", failing],
      ["slow-compliance", slow],
    ]),
    logger,
    concurrency: 1,
    retryAfterSeconds: 0,
  });
});

afterAll(async () => {
  await host.stop();
});

/** The real AWS SDK, pointed at the local host with dummy credentials. */
function client(): LambdaClient {
  return new LambdaClient({
    endpoint: host.url,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
}

const configWith = (prefix: string): Config => ({ ...baseConfig, LAMBDA_FUNCTION_PREFIX: prefix });

describe("Lambda invoker through the local Lambda host and the real AWS SDK", () => {
  it("invokes the function and returns its effects", async () => {
    const invoker = lambdaInvoker({ config: configWith(""), logger, client: client() });
    const payload = payloadOf(restrictedOrder);
    const parsed = payload.messages.map((m) => parseInbound(compliance, payload.stream, m));
    const result = await invoker.invoke(compliance, payload, parsed);
    expect(result.records).toHaveLength(1);
    expect(result.events.map((e) => e.type)).toEqual(["compliance.violation"]);
    expect(result.events[0]?.data).toMatchObject({ rule: "restricted_symbol", orderId: "o-luna" });
  });

  it("turns X-Amz-Function-Error into a failed invocation carrying the error", async () => {
    const invoker = lambdaInvoker({ config: configWith("broken-"), logger, client: client() });
    const payload = payloadOf(restrictedOrder);
    const err = await invoker.invoke(compliance, payload, []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FunctionFailedError);
    expect((err as FunctionFailedError).message).toMatch(/compliance rules could not be loaded/);
    expect((err as FunctionFailedError).errorType).toBe("TypeError");
  });

  it("retries a throttled call (429 TooManyRequestsException) until it succeeds", async () => {
    const invoker = lambdaInvoker({
      config: configWith("slow-"),
      logger,
      client: client(),
      throttleBaseMs: 50,
    });
    const payload = payloadOf(restrictedOrder);
    const first = invoker.invoke(compliance, payload, []);
    await eventually(() => release !== undefined);
    const second = invoker.invoke(compliance, payload, []);
    await eventually(
      () => (host.stats.get("slow-compliance")?.throttled ?? 0) >= 1,
      5_000,
      "a throttled call",
    );
    release?.();
    const [a, b] = await Promise.all([first, second]);
    expect(a.events).toHaveLength(1);
    expect(b.events).toHaveLength(1);
    expect(host.stats.get("slow-compliance")).toMatchObject({ ok: 2, error: 0 });
  });

  it("answers an unknown function with ResourceNotFoundException (404)", async () => {
    const err = await client()
      .send(new InvokeCommand({ FunctionName: "nope", Payload: new TextEncoder().encode("{}") }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResourceNotFoundException);
  });

  it("runs the trigger with the Lambda invoker end to end", async () => {
    const metrics = triggerMetrics(new Registry());
    const invoker = lambdaInvoker({ config: configWith(""), logger, client: client() });
    const trigger = await startTrigger(
      compliance,
      { bus, config: baseConfig, logger },
      { invoker, metrics, maxWaitMs: 0 },
    );
    await bus.publishEvent(orderEvent(restrictedOrder));
    const violations = await eventually(async () => {
      const v = await readStream(bus, streams.EVENTS.name, subjects.events.of("compliance", "violation"));
      return v.length > 0 ? v : undefined;
    });
    await trigger.stop();
    expect(violations[0]?.envelope.data).toMatchObject({ rule: "restricted_symbol" });
    expect(violations[0]?.envelope.source).toBe("compliance");
  });

  it("requeues, never dead-letters, when the Lambda cannot be invoked (not deployed)", async () => {
    const metrics = triggerMetrics(new Registry());
    const invoker = lambdaInvoker({ config: configWith("missing-"), logger, client: client() });
    const trigger = await startTrigger(
      compliance,
      { bus, config: baseConfig, logger },
      { invoker, metrics, maxWaitMs: 0, maxDeliveries: 2, backoffBaseMs: 50, backoffMaxMs: 100 },
    );
    await bus.publishEvent(orderEvent({ ...restrictedOrder, id: "o-luna-2", clientOrderId: "c-luna-2" }));
    const requeued = async () =>
      (await metrics.messages.get()).values.find((v) => v.labels.outcome === "requeued")?.value ?? 0;
    // More deliveries than TRIGGER_MAX_DELIVERIES, and still no dead letter.
    await eventually(async () => (await requeued()) >= 4, 10_000, "several requeues");
    await trigger.stop();
    expect(await readStream(bus, streams.DLQ.name, subjects.dlq.of("compliance"))).toHaveLength(0);
    const unavailable = (await metrics.invocations.get()).values.find(
      (v) => v.labels.outcome === "unavailable",
    );
    expect(unavailable?.value ?? 0).toBeGreaterThanOrEqual(4);
  });

  it("serves the function's tools to an API Gateway v2 event through Hono's Lambda adapter", async () => {
    const handler = createLambdaHandler(compliance, {
      config: testConfig({ COMPLIANCE_RESTRICTED_SYMBOLS: "LUNA/USDT", NATS_URL: nats.url }),
      logger,
    });
    const http = (method: string, path: string, body?: unknown, extra: Record<string, string> = {}) => ({
      version: "2.0",
      routeKey: "$default",
      rawPath: path,
      rawQueryString: "",
      headers: { "content-type": "application/json", host: "fn.lambda-url.local", ...extra },
      body: body === undefined ? null : JSON.stringify(body),
      isBase64Encoded: false,
      requestContext: {
        accountId: "000000000000",
        apiId: "local",
        domainName: "fn.lambda-url.local",
        domainPrefix: "fn",
        http: { method, path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "test" },
        requestId: "r1",
        routeKey: "$default",
        stage: "$default",
        time: "05/Jan/2026:10:00:00 +0000",
        timeEpoch: 1_767_607_200_000,
      },
    });
    const ok = (await handler(
      http("POST", "/tools/check_order", { symbol: "LUNA/USDT", side: "buy", amount: 1 }),
    )) as {
      statusCode: number;
      body: string;
    };
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({
      allowed: false,
      violations: [{ rule: "restricted_symbol" }],
    });
    const bad = (await handler(
      http("POST", "/tools/check_order", { symbol: "LUNA/USDT" }, { "x-request-id": "req-7" }),
    )) as { statusCode: number; body: string; headers: Record<string, string> };
    expect(bad.statusCode).toBe(400);
    const error = JSON.parse(bad.body).error;
    expect(error.code).toBe(-32602);
    expect(JSON.stringify(error)).toContain("side"); // names the missing field
    // The same request-id handling as the services' kit (adapters/http/tool-routes.ts): the caller's id comes back.
    expect(bad.headers["x-request-id"]).toBe("req-7");
    const rpc = (await handler(
      http("POST", "/rpc", {
        jsonrpc: "2.0",
        id: 1,
        method: "tool.execute",
        params: {
          agent: "complianceauditor",
          tool: "check_order",
          args: { symbol: "BTC/USDT", side: "buy", amount: 0.001 },
        },
      }),
    )) as { statusCode: number; body: string };
    expect(JSON.parse(rpc.body)).toMatchObject({ id: 1, result: { allowed: true } });
  });
});
