import { request as httpRequest } from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import { findAgent, type ServiceAgent } from "../../core/agents/manifest.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { serveTriggerHttp, triggerApp } from "../../functions/trigger/http.ts";
import { createMetricsRegistry } from "../../core/telemetry/metrics.ts";
import { privateNats, testBus } from "../../test/nats.ts";
import { hostName, hostPolicy, isJson } from "./guard.ts";
import { protectionOf } from "./protect.ts";
import { startService } from "./service.ts";
import { testConfig, testSpec } from "./testing/agent.ts";

const risk = findAgent("risk") as ServiceAgent;
const nats = await privateNats();
const bus = await testBus(nats.url, "guard");
await ensureTopology(bus);
const seedArgs = { win_probability: 0.6, win_return: 1.0, loss_return: -1.0 };
const rpcCall = (id: number) => ({
  jsonrpc: "2.0",
  id,
  method: "tool.execute",
  params: { agent: "risk", tool: "calculate_kelly", args: seedArgs },
});

/** A raw HTTP request with any Host header (fetch does not let a caller set Host). */
function raw(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        method,
        path,
        headers: { ...headers, ...(body ? { "content-length": Buffer.byteLength(body) } : {}) },
      },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => {
          text += d.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("Host, Origin and Content-Type rules (pure)", () => {
  const policy = hostPolicy({
    allowedHosts: ["bot4.example.com"],
    allowedOrigins: ["https://ops.example.com"],
    corsOrigins: [],
  });
  it("accepts loopback hosts and listed names, refuses others", () => {
    expect(hostName("[::1]:3000")).toBe("::1");
    expect(hostName("LocalHost:80")).toBe("localhost");
    for (const h of ["127.0.0.1:3000", "localhost", "[::1]:8083", "bot4.example.com:443"])
      expect(policy.hostAllowed(h), h).toBe(true);
    for (const h of ["evil.com", "127.0.0.1.evil.com", "", undefined])
      expect(policy.hostAllowed(h), String(h)).toBe(false);
  });
  it("accepts loopback, same-origin and listed origins, refuses others and null", () => {
    expect(policy.originAllowed("http://127.0.0.1:5173", "127.0.0.1:3000")).toBe(true);
    expect(policy.originAllowed("http://[::1]:3000", "[::1]:3000")).toBe(true);
    expect(policy.originAllowed("https://bot4.example.com", "bot4.example.com")).toBe(true);
    expect(policy.originAllowed("https://ops.example.com", "127.0.0.1:3000")).toBe(true);
    expect(policy.originAllowed("http://evil.com", "127.0.0.1:3000")).toBe(false);
    expect(policy.originAllowed("http://evil.com", "evil.com")).toBe(false);
    expect(policy.originAllowed("null", "127.0.0.1:3000")).toBe(false);
    expect(policy.originAllowed("file://", "127.0.0.1:3000")).toBe(false);
  });
  it("knows application/json with parameters from everything else", () => {
    expect(isJson("application/json")).toBe(true);
    expect(isJson("Application/JSON; charset=utf-8")).toBe(true);
    for (const t of [
      undefined,
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data",
      "application/jsonp",
    ])
      expect(isJson(t), String(t)).toBe(false);
  });
});

describe("a kit service behind the browser guard (real HTTP)", async () => {
  const svc = await startService(
    testSpec(risk),
    { config: testConfig(), bus, logger: quietLogger() },
    { port: 0 },
  );
  afterAll(() => svc.stop());
  const json = { "content-type": "application/json" };

  it("answers 403 to a rebound Host or a foreign Origin on tools and /rpc, and serves loopback", async () => {
    const body = JSON.stringify(seedArgs);
    const evilHost = await raw(
      svc.url,
      "POST",
      "/tools/calculate_kelly",
      { ...json, host: "evil.com" },
      body,
    );
    expect(evilHost.status).toBe(403);
    expect(JSON.parse(evilHost.body).error.message).toMatch(/host "evil.com" is not allowed/);
    const evilOrigin = await raw(
      svc.url,
      "POST",
      "/rpc",
      { ...json, host: "127.0.0.1", origin: "http://evil.com" },
      JSON.stringify(rpcCall(1)),
    );
    expect(evilOrigin.status).toBe(403);
    expect(JSON.parse(evilOrigin.body).error.message).toMatch(/origin "http:\/\/evil.com" is not allowed/);
    const ok = await raw(
      svc.url,
      "POST",
      "/tools/calculate_kelly",
      { ...json, host: "localhost", origin: "http://localhost:5173" },
      body,
    );
    expect(ok.status).toBe(200);
    // /health stays open to probes whatever their Host.
    expect((await raw(svc.url, "GET", "/health", { host: "10.0.0.7:8081" })).status).toBe(200);
  });

  it("keeps CORS closed: no Access-Control headers, and a preflight finds nothing", async () => {
    const res = await raw(
      svc.url,
      "POST",
      "/tools/calculate_kelly",
      { ...json, host: "127.0.0.1", origin: "http://127.0.0.1:9999" },
      JSON.stringify(seedArgs),
    );
    expect(res.headers["access-control-allow-origin"]).toBeUndefined();
    const pre = await raw(svc.url, "OPTIONS", "/rpc", {
      host: "127.0.0.1",
      origin: "http://127.0.0.1:9999",
      "access-control-request-method": "POST",
    });
    expect(pre.status).toBe(404);
    expect(pre.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("answers CORS for configured origins only", async () => {
    const open = await startService(
      testSpec(risk),
      { config: testConfig({ BOT4_CORS_ORIGINS: "https://app.example.com" }), bus, logger: quietLogger() },
      { port: 0 },
    );
    try {
      const pre = await raw(open.url, "OPTIONS", "/rpc", {
        host: "127.0.0.1",
        origin: "https://app.example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      });
      expect(pre.status).toBe(204);
      expect(pre.headers["access-control-allow-origin"]).toBe("https://app.example.com");
      const call = await raw(
        open.url,
        "POST",
        "/rpc",
        { ...json, host: "127.0.0.1", origin: "https://app.example.com" },
        JSON.stringify(rpcCall(1)),
      );
      expect(call.status).toBe(200);
      const other = await raw(
        open.url,
        "POST",
        "/rpc",
        { ...json, host: "127.0.0.1", origin: "https://other.example.com" },
        JSON.stringify(rpcCall(1)),
      );
      expect(other.status).toBe(403);
    } finally {
      await open.stop();
    }
  });

  it("caps a JSON-RPC batch and counts every member against the rate limit", async () => {
    const limited = await startService(
      testSpec(risk),
      { config: testConfig({ BOT4_RPC_BATCH_MAX: "10" }), bus, logger: quietLogger() },
      { port: 0, protection: { rateLimit: { perSecond: 0.001, burst: 12 } } },
    );
    try {
      const post = (body: unknown) =>
        fetch(`${limited.url}/rpc`, { method: "POST", headers: json, body: JSON.stringify(body) });
      const tooBig = await post(Array.from({ length: 11 }, (_, i) => rpcCall(i)));
      expect(tooBig.status).toBe(400);
      expect(((await tooBig.json()) as { error: { message: string } }).error.message).toMatch(
        /batch of 11 calls; at most 10/,
      );
      // 12 tokens: the refused batch took 1; a batch of 8 takes 8 (3 left); a batch of 4 is over.
      const eight = await post(Array.from({ length: 8 }, (_, i) => rpcCall(i)));
      expect(eight.status).toBe(200);
      expect(((await eight.json()) as unknown[]).length).toBe(8);
      const four = await post(Array.from({ length: 4 }, (_, i) => rpcCall(i)));
      expect(four.status).toBe(429);
      expect(Number(four.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.stop();
    }
  });

  it("rate-limits failed authentications per client, then refuses even a right key from it", async () => {
    const keyed = await startService(
      testSpec(risk),
      {
        config: testConfig({ BOT4_API_KEYS: "right-key", BOT4_AUTH_FAILURES_PER_MINUTE: "5" }),
        bus,
        logger: quietLogger(),
      },
      { port: 0 },
    );
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++)
        statuses.push(
          (await fetch(`${keyed.url}/tools`, { headers: { authorization: `Bearer guess-${i}` } })).status,
        );
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
      const right = await fetch(`${keyed.url}/tools`, { headers: { authorization: "Bearer right-key" } });
      expect(right.status).toBe(429);
      expect(Number(right.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    } finally {
      await keyed.stop();
    }
  });
});

describe("the trigger's /metrics and /health under the kit's rules", () => {
  const metrics = createMetricsRegistry("functions", false);
  it("wants the key on /metrics, keeps /health open, and checks the Host", async () => {
    const protection = protectionOf(testConfig({ BOT4_API_KEYS: "tk" }));
    const app = triggerApp(bus, { running: ["compliance"], metrics }, protection);
    expect((await app.request("/health", { headers: { host: "anything" } })).status).toBe(200);
    expect((await app.request("/metrics", { headers: { host: "127.0.0.1:9100" } })).status).toBe(401);
    const ok = await app.request("/metrics", {
      headers: { host: "127.0.0.1:9100", authorization: "Bearer tk" },
    });
    expect(ok.status).toBe(200);
    expect(
      (await app.request("/metrics", { headers: { host: "evil.com", authorization: "Bearer tk" } })).status,
    ).toBe(403);
  });
  it("falls back to loopback without keys, as the kit does", async () => {
    const server = await serveTriggerHttp(
      bus,
      { running: [], metrics },
      {
        port: 0,
        host: "0.0.0.0",
        protection: protectionOf(testConfig()),
        logger: quietLogger(),
      },
    );
    try {
      expect(server.boundHost).toBe("127.0.0.1");
      expect((server.address() as { address: string }).address).toBe("127.0.0.1");
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
