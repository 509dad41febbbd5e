import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findAgent, type ServiceAgent } from "../../core/agents/manifest.ts";
import { AgentInstance, readInstances } from "../../adapters/nats/agent-registry.ts";
import { callTool } from "../../adapters/nats/tool-transport.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { agentInstanceKey, kvBuckets } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { ToolError } from "../../core/tools/errors.ts";
import { privateNats, testBus } from "../../test/nats.ts";
import { startService } from "./service.ts";
import { kellyFraction, testConfig, testSpec } from "./testing/agent.ts";
import { spawnAgent } from "./testing/spawn.ts";
import type { RunningService } from "./types.ts";

const risk = findAgent("risk") as ServiceAgent;
const seedArgs = { win_probability: 0.6, win_return: 1.0, loss_return: -1.0 };
/** f* = 0.6/1 − 0.4/1 = 0.2, to 12 digits. */
const expected = kellyFraction(0.6, 1, -1);

const nats = await privateNats();
const bus = await testBus(nats.url, "kit-server");
const client = await testBus(nats.url, "kit-client");
await ensureTopology(bus);

interface ErrorBody {
  error: { code: number; message: string; data: { issues: { path: string }[] } };
}
interface Kelly {
  kelly_fraction: number;
  served_by: string;
}
/** Reads a JSON body as the shape the test expects (the assertions check it). */
const read = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T;

const json = (body: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

describe("a kit-served agent", () => {
  let svc: RunningService;
  beforeAll(async () => {
    svc = await startService(
      testSpec(risk, "a"),
      { config: testConfig(), bus, logger: quietLogger() },
      { port: 0, instanceId: "kit-a" },
    );
  });
  afterAll(() => svc.stop());

  it("answers the same tool over HTTP, JSON-RPC and NATS with the same result", async () => {
    const http = await read<Kelly>(fetch(`${svc.url}/tools/calculate_kelly`, json(seedArgs)));
    const rpc = await read<unknown>(
      fetch(
        `${svc.url}/rpc`,
        json({
          id: "r1",
          method: "tool.execute",
          params: { agent: "riskquant", tool: "calculate_kelly", args: seedArgs },
        }),
      ),
    );
    const viaNats = await callTool(client, "riskquant", "calculate_kelly", seedArgs);
    expect(http).toEqual({ kelly_fraction: expect.closeTo(expected, 12), served_by: "a" });
    expect(rpc).toEqual({ jsonrpc: "2.0", id: "r1", result: http });
    expect(viaNats).toEqual(http);
  });

  it("refuses a state-changing POST that is not application/json with 415 (what a browser sends cross-origin)", async () => {
    for (const type of [
      undefined,
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data",
    ]) {
      const res = await fetch(`${svc.url}/tools/calculate_kelly`, {
        method: "POST",
        ...(type === undefined ? {} : { headers: { "content-type": type } }),
        body: JSON.stringify(seedArgs),
      });
      expect(res.status, String(type)).toBe(415);
      const rpc = await fetch(`${svc.url}/rpc`, {
        method: "POST",
        ...(type === undefined ? {} : { headers: { "content-type": type } }),
        body: JSON.stringify({ id: 1, method: "tool.execute", params: { agent: "risk", tool: "whoami" } }),
      });
      expect(rpc.status, String(type)).toBe(415);
    }
    const res = await fetch(`${svc.url}/tools/calculate_kelly`, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8" },
      body: JSON.stringify(seedArgs),
    });
    expect(res.status).toBe(200);
    expect((await read<Kelly>(res)).kelly_fraction).toBeCloseTo(expected, 12);
  });

  it("reads a chunked body under the limit", async () => {
    const bytes = new TextEncoder().encode(JSON.stringify(seedArgs));
    let sent = false;
    const res = await fetch(`${svc.url}/tools/calculate_kelly`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new ReadableStream({
        pull(controller) {
          if (sent) controller.close();
          else controller.enqueue(bytes);
          sent = true;
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(200);
    expect((await read<Kelly>(res)).kelly_fraction).toBeCloseTo(expected, 12);
  });

  it("reports wrong args as 400 over HTTP and -32602 over JSON-RPC, with the zod issues", async () => {
    const res = await fetch(`${svc.url}/tools/calculate_kelly`, json({ win_probability: 2, win_return: 1 }));
    expect(res.status).toBe(400);
    const body = await read<ErrorBody>(res);
    expect(body.error.code).toBe(RpcCode.InvalidParams);
    expect(body.error.data.issues.map((i) => i.path).sort()).toEqual(["loss_return", "win_probability"]);
    const rpc = await read<ErrorBody>(
      fetch(
        `${svc.url}/rpc`,
        json({
          jsonrpc: "2.0",
          id: 2,
          method: "tool.execute",
          params: { agent: "risk", tool: "calculate_kelly" },
        }),
      ),
    );
    expect(rpc.error.code).toBe(RpcCode.InvalidParams);
    expect(rpc.error.data.issues).toHaveLength(3);
  });

  it("maps malformed JSON to 400, an unknown tool to 404, and serves JSON-RPC batches in order", async () => {
    const bad = await fetch(`${svc.url}/tools/calculate_kelly`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    expect(bad.status).toBe(400);
    expect((await read<ErrorBody>(bad)).error.code).toBe(RpcCode.ParseError);
    const missing = await fetch(`${svc.url}/tools/no_such_tool`, json({}));
    expect(missing.status).toBe(404);
    expect((await read<ErrorBody>(missing)).error.message).toContain('"no_such_tool"');
    const batch = await read<{ id: number; error: { code: number } }[]>(
      fetch(`${svc.url}/rpc`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify([
          {
            id: 1,
            method: "tool.execute",
            params: { agent: "risk", tool: "calculate_kelly", args: seedArgs },
          },
          { id: 2, method: "tool.execute", params: { agent: "risk", tool: "nope" } },
          { method: "tool.execute", params: { agent: "risk", tool: "whoami" } },
        ]),
      }),
    );
    expect(batch.map((r) => r.id)).toEqual([1, 2]);
    expect(batch[1]?.error.code).toBe(RpcCode.MethodNotFound);
  });

  it("carries the HTTP request id into the tool call and echoes it", async () => {
    const res = await fetch(`${svc.url}/tools/whoami`, {
      method: "POST",
      headers: {
        "x-request-id": "req-123",
        "bot4-correlation-id": "flow-9",
        "content-type": "application/json",
      },
    });
    expect(res.headers.get("x-request-id")).toBe("req-123");
    expect(await read<unknown>(res)).toEqual({
      requestId: "req-123",
      correlationId: "flow-9",
      transport: "http",
    });
  });

  it("serves health, readiness, the tool listing with JSON Schemas, and per-tool metrics", async () => {
    const health = await read<unknown>(fetch(`${svc.url}/health`));
    expect(health).toMatchObject({ status: "ok", agent: "risk", instanceId: "kit-a", version: "9.9.9-test" });
    const ready = await fetch(`${svc.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await read<unknown>(ready)).toMatchObject({ ready: true, checks: { bus: true, agent: true } });
    const tools = await read<{ agent: string; tools: { name: string; inputSchema: unknown }[] }>(
      fetch(`${svc.url}/tools`),
    );
    expect(tools.agent).toBe("risk");
    expect(tools.tools.map((t) => t.name).sort()).toEqual(["calculate_kelly", "sleep", "whoami"]);
    expect(tools.tools[0]?.inputSchema).toMatchObject({ type: "object", required: expect.any(Array) });
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toMatch(
      /bot4_tool_calls_total\{[^}]*tool="calculate_kelly"[^}]*transport="nats"[^}]*outcome="ok"/,
    );
    expect(metrics).toMatch(
      /bot4_tool_calls_total\{[^}]*tool="calculate_kelly"[^}]*transport="http"[^}]*outcome="invalid"/,
    );
    expect(metrics).toMatch(/bot4_tool_call_seconds_bucket\{/);
    expect(metrics).toMatch(/bot4_bus_connected\{[^}]*\} 1/);
  });

  it("sets secure headers", async () => {
    const res = await fetch(`${svc.url}/health`);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
  });

  it("heartbeats its registry entry with its tools", async () => {
    const kv = await client.kv(kvBuckets.agents);
    const entry = await kv.get(agentInstanceKey("risk", "kit-a"));
    const parsed = AgentInstance.parse(entry?.json());
    expect(parsed).toMatchObject({ agent: "risk", instanceId: "kit-a", kind: "service", url: svc.url });
    expect(parsed.tools.map((t) => t.name)).toContain("calculate_kelly");
  });
});

describe("stopping", () => {
  it("leaves the registry, stops NATS intake and closes the port, letting an in-flight call finish", async () => {
    const svc = await startService(
      testSpec(risk, "b"),
      { config: testConfig(), bus, logger: quietLogger() },
      { port: 0, instanceId: "kit-stop", shutdownDeadlineMs: 3_000 },
    );
    expect((await readInstances(client, "risk")).map((i) => i.instanceId)).toContain("kit-stop");
    const inFlight = callTool(client, "risk", "sleep", { ms: 300 });
    await new Promise((r) => setTimeout(r, 50));
    await svc.stop();
    await expect(inFlight).resolves.toEqual({ slept: 300 });
    expect((await readInstances(client, "risk")).map((i) => i.instanceId)).not.toContain("kit-stop");
    await expect(fetch(`${svc.url}/health`)).rejects.toThrow();
    const after = await callTool(client, "risk", "whoami", {}, { timeout: 1_000 }).catch((e: unknown) => e);
    expect(after).toBeInstanceOf(ToolError);
    expect((after as ToolError).code).toBe(RpcCode.AgentUnavailable);
  });
});

describe("readiness", () => {
  it("is 503 while the agent says it is not ready, and 200 once it is", async () => {
    let warm = false;
    const svc = await startService(
      testSpec(risk, "r", { ready: async () => warm }),
      { config: testConfig(), bus, logger: quietLogger() },
      { port: 0 },
    );
    try {
      const cold = await fetch(`${svc.url}/ready`);
      expect(cold.status).toBe(503);
      expect(await read<unknown>(cold)).toMatchObject({ ready: false, checks: { bus: true, agent: false } });
      expect((await fetch(`${svc.url}/health`)).status).toBe(200);
      warm = true;
      expect((await fetch(`${svc.url}/ready`)).status).toBe(200);
    } finally {
      await svc.stop();
    }
  });
});

describe("SIGTERM", () => {
  it("stops intake, leaves the registry at once and exits 0 (handleSignals)", async () => {
    const agent = await spawnAgent(nats.url, "signalled");
    const ids = async () => (await readInstances(client, "risk")).map((i) => i.instanceId);
    expect(await ids()).toContain(agent.instanceId);
    await expect(callTool(client, "risk", "calculate_kelly", seedArgs)).resolves.toBeDefined();
    agent.child.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
    // Deleted by stop(), not expired: the bucket ttl (6 s) has not passed.
    expect(await ids()).not.toContain(agent.instanceId);
  });
});

describe("protection", () => {
  const deps = () => ({ config: testConfig({ BOT4_API_KEYS: "k-one, k-two" }), bus, logger: quietLogger() });

  it("wants a valid bearer key on everything but /health", async () => {
    const svc = await startService(testSpec(risk), deps(), { port: 0 });
    try {
      expect((await fetch(`${svc.url}/health`)).status).toBe(200);
      const none = await fetch(`${svc.url}/tools/calculate_kelly`, json(seedArgs));
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toContain("Bearer");
      const wrong = await fetch(`${svc.url}/tools`, { headers: { authorization: "Bearer k-three" } });
      expect(wrong.status).toBe(401);
      expect((await fetch(`${svc.url}/metrics`)).status).toBe(401);
      const right = await fetch(`${svc.url}/tools/calculate_kelly`, {
        ...json(seedArgs),
        headers: { authorization: "Bearer k-two", "content-type": "application/json" },
      });
      expect(right.status).toBe(200);
    } finally {
      await svc.stop();
    }
  });

  it("answers 429 with Retry-After once a client's bucket is empty", async () => {
    const svc = await startService(testSpec(risk), deps(), {
      port: 0,
      protection: { rateLimit: { perSecond: 0.5, burst: 3 } },
    });
    try {
      const call = (key: string) =>
        fetch(`${svc.url}/tools`, { headers: { authorization: `Bearer ${key}` } });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await call("k-one")).status);
      expect(statuses).toEqual([200, 200, 200]);
      const limited = await call("k-one");
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect((await call("k-two")).status).toBe(200);
    } finally {
      await svc.stop();
    }
  });

  it("refuses a body over the limit with 413", async () => {
    const svc = await startService(testSpec(risk), deps(), { port: 0, protection: { bodyLimitBytes: 1024 } });
    try {
      const res = await fetch(`${svc.url}/tools/calculate_kelly`, {
        method: "POST",
        headers: { authorization: "Bearer k-one", "content-type": "application/json" },
        body: JSON.stringify({ ...seedArgs, pad: "x".repeat(4096) }),
      });
      expect(res.status).toBe(413);
      const rpc = await fetch(`${svc.url}/rpc`, {
        method: "POST",
        headers: { authorization: "Bearer k-one", "content-type": "application/json" },
        body: "[".repeat(2048),
      });
      expect(rpc.status).toBe(413);
      const chunks = [new TextEncoder().encode("["), new TextEncoder().encode(" 1,".repeat(600))];
      const chunked = await fetch(`${svc.url}/rpc`, {
        method: "POST",
        headers: { authorization: "Bearer k-one", "content-type": "application/json" },
        body: new ReadableStream({
          pull(controller) {
            const next = chunks.shift();
            if (next === undefined) controller.close();
            else controller.enqueue(next);
          },
        }),
        duplex: "half",
      } as RequestInit);
      expect(chunked.status).toBe(413);
    } finally {
      await svc.stop();
    }
  });

  it("binds to loopback without keys even when asked for a wider host, unless told otherwise", async () => {
    const loop = await startService(
      testSpec(risk),
      { config: testConfig(), bus, logger: quietLogger() },
      {
        port: 0,
        host: "0.0.0.0",
      },
    );
    const wide = await startService(
      testSpec(risk),
      { config: testConfig({ BOT4_ALLOW_INSECURE_BIND: "true" }), bus, logger: quietLogger() },
      { port: 0, host: "0.0.0.0" },
    );
    const keyed = await startService(testSpec(risk), deps(), { port: 0, host: "0.0.0.0" });
    try {
      expect(loop.host).toBe("127.0.0.1");
      expect(wide.host).toBe("0.0.0.0");
      expect(keyed.host).toBe("0.0.0.0");
    } finally {
      await Promise.all([loop.stop(), wide.stop(), keyed.stop()]);
    }
  });
});
