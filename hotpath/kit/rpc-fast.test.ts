import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findAgent, type ServiceAgent } from "../../core/agents/manifest.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { localDispatch } from "../../core/tools/execute.ts";
import { privateNats, testBus } from "../../test/nats.ts";
import { protectionOf, TokenBuckets } from "./protect.ts";
import { fastRpc, requestIdOf, secureHeaderList } from "./rpc-fast.ts";
import { startService } from "./service.ts";
import { testConfig, testSpec } from "./testing/agent.ts";

const risk = findAgent("risk") as ServiceAgent;
const seedArgs = { win_probability: 0.6, win_return: 1.0, loss_return: -1.0 };
const call = (id: string | number, tool: string, args: unknown = {}) => ({
  jsonrpc: "2.0",
  id,
  method: "tool.execute",
  params: { agent: "risk", tool, args },
});
const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

describe("the /rpc fast path (real node:http, handing on to a stand-in for the Hono app)", () => {
  const handed: string[] = [];
  let server: Server;
  let url: string;
  beforeAll(async () => {
    const registry = testSpec(risk).registry;
    const fast = fastRpc({
      dispatch: localDispatch([registry]),
      logger: quietLogger(),
      maxBatch: 10,
      protection: protectionOf(testConfig(), { bodyLimitBytes: 512 }),
      buckets: new TokenBuckets({ perSecond: 0.001, burst: 7 }),
      secureHeaders: await secureHeaderList(),
    });
    if (fast === undefined) throw new Error("a keyless service without CORS takes the fast path");
    server = createServer((req, res) =>
      fast(req, res, (r, s) => {
        // What the Hono app would see: the request as it came, its body (if read) as rawBody.
        const raw = (r as { rawBody?: Buffer }).rawBody;
        handed.push(`${r.method} ${r.url} ${raw === undefined ? "-" : raw.toString("utf8")}`);
        s.writeHead(418).end();
      }),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("answers a plain call itself, with the request id, the correlation id and the secure headers", async () => {
    const before = handed.length;
    const res = await post(`${url}/rpc`, JSON.stringify(call("r1", "whoami")), {
      "x-request-id": "req-7",
      "bot4-correlation-id": "flow-3",
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("x-request-id")).toBe("req-7");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("strict-transport-security")).toContain("max-age=");
    expect(await res.json()).toEqual({
      jsonrpc: "2.0",
      id: "r1",
      result: { requestId: "r1", correlationId: "flow-3", transport: "rpc" },
    });
    // Without a correlation header the call is correlated by the HTTP request id: without a valid
    // X-Request-Id the JSON-RPC id if it passes as one, else a fresh one.
    const own = await post(`${url}/rpc`, JSON.stringify(call("r2", "whoami")), {
      "x-request-id": "bad id!",
    });
    expect(own.headers.get("x-request-id")).toBe("r2");
    expect(((await own.json()) as { result: unknown }).result).toEqual({
      requestId: "r2",
      correlationId: "r2",
      transport: "rpc",
    });
    const fresh = await post(`${url}/rpc`, JSON.stringify(call(5, "whoami")));
    const id = fresh.headers.get("x-request-id") as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(((await fresh.json()) as { result: { correlationId: string } }).result.correlationId).toBe(id);
    expect(handed.length).toBe(before);
  });

  it("answers JSON-RPC errors itself: -32602 naming the field, -32601, -32600, and 204 to a notification", async () => {
    const before = handed.length;
    const invalid = (await (
      await post(
        `${url}/rpc`,
        JSON.stringify(call(1, "calculate_kelly", { ...seedArgs, win_probability: 2 })),
      )
    ).json()) as { error: { code: number; data: { issues: { path: string }[] } } };
    expect(invalid.error.code).toBe(RpcCode.InvalidParams);
    expect(invalid.error.data.issues.map((i) => i.path)).toContain("win_probability");
    const method = (await (
      await post(`${url}/rpc`, JSON.stringify({ jsonrpc: "2.0", id: 2, method: "nope" }))
    ).json()) as { error: { code: number } };
    expect(method.error.code).toBe(RpcCode.MethodNotFound);
    const request = (await (await post(`${url}/rpc`, JSON.stringify({ id: 3, method: 7 }))).json()) as {
      error: { code: number };
    };
    expect(request.error.code).toBe(RpcCode.InvalidRequest);
    const note = await post(
      `${url}/rpc`,
      JSON.stringify({ method: "tool.execute", params: call(0, "whoami").params }),
    );
    expect(note.status).toBe(204);
    expect(handed.length).toBe(before);
  });

  it("hands on, body and all, what the kit's middleware or route must decide", async () => {
    handed.length = 0;
    const one = JSON.stringify(call("h", "whoami"));
    const batch = JSON.stringify([call(1, "whoami"), call(2, "whoami")]);
    const statuses = [
      (await post(`${url}/rpc`, batch)).status,
      (await post(`${url}/rpc`, "{not json")).status,
      (await post(`${url}/rpc`, one, { origin: "http://127.0.0.1" })).status,
      (await post(`${url}/rpc`, one, { "content-type": "text/plain" })).status,
      (await post(`${url}/rpc`, JSON.stringify({ ...call("big", "whoami"), pad: "x".repeat(600) }))).status,
      (await post(`${url}/rpc?x=1`, one)).status,
      (await fetch(`${url}/health`)).status,
    ];
    expect(statuses).toEqual([418, 418, 418, 418, 418, 418, 418]);
    expect(handed).toEqual([
      `POST /rpc ${batch}`,
      "POST /rpc {not json",
      "POST /rpc -",
      "POST /rpc -",
      "POST /rpc -",
      "POST /rpc?x=1 -",
      "GET /health -",
    ]);
  });

  it("hands on a call once its client's bucket is empty (the Hono app answers the 429)", async () => {
    // Seven tokens: the seven calls the first two tests answered took them all (handed-on ones take none here).
    handed.length = 0;
    const res = await post(`${url}/rpc`, JSON.stringify(call("late", "whoami")));
    expect(res.status).toBe(418);
    expect(handed).toHaveLength(1);
  });
});

describe("/rpc through the kit: the fast path and the Hono route answer alike", async () => {
  const nats = await privateNats();
  const bus = await testBus(nats.url, "rpc-fast");
  afterAll(() => bus.drain());
  // An allowed browser Origin sends the same call down the Hono route.
  const viaHono = { origin: "http://127.0.0.1" };

  it("with the same status, body and headers", async () => {
    const svc = await startService(
      testSpec(risk),
      { config: testConfig(), bus, logger: quietLogger() },
      { port: 0 },
    );
    try {
      const bodies = [
        JSON.stringify(call("same", "calculate_kelly", seedArgs)),
        JSON.stringify(call("bad", "calculate_kelly", { win_probability: "x" })),
        JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tool.list" }),
      ];
      // With the caller's X-Request-Id, and without (the JSON-RPC id "same" or "who" is the request id
      // on both; the number 9 gets a fresh one on each, so that header is only compared by its shape).
      for (const given of [{ "x-request-id": "same-id" }, {}] as Record<string, string>[]) {
        for (const body of [...bodies, JSON.stringify(call("who", "whoami"))]) {
          const fast = await post(`${svc.url}/rpc`, body, given);
          const hono = await post(`${svc.url}/rpc`, body, { ...given, ...viaHono });
          expect(fast.status).toBe(hono.status);
          expect(await fast.json()).toEqual(await hono.json());
          const names = (r: Response) => [...r.headers.keys()].filter((k) => k !== "date").sort();
          expect(names(fast)).toEqual(names(hono));
          const fresh = (r: Response) => /^[0-9a-f-]{36}$/.test(r.headers.get("x-request-id") ?? "");
          for (const name of names(hono)) {
            if (name === "x-request-id" && fresh(hono)) expect(fresh(fast)).toBe(true);
            else expect(fast.headers.get(name)).toBe(hono.headers.get(name));
          }
        }
      }
    } finally {
      await svc.stop();
    }
  });

  it("drawing on one rate-limit bucket per client", async () => {
    const svc = await startService(
      testSpec(risk),
      { config: testConfig(), bus, logger: quietLogger() },
      { port: 0, protection: { rateLimit: { perSecond: 0.01, burst: 3 } } },
    );
    try {
      const one = JSON.stringify(call("r", "whoami"));
      const statuses = [
        (await post(`${svc.url}/rpc`, one)).status,
        (await post(`${svc.url}/tools/whoami`, "{}")).status,
        (await post(`${svc.url}/rpc`, one, viaHono)).status,
      ];
      expect(statuses).toEqual([200, 200, 200]);
      const limited = await post(`${svc.url}/rpc`, one);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    } finally {
      await svc.stop();
    }
  });
});

describe("requestIdOf", () => {
  it("keeps what hono's requestId middleware keeps, and makes a fresh id otherwise", () => {
    expect(requestIdOf("abc-DEF_1=")).toBe("abc-DEF_1=");
    for (const bad of [undefined, "", "a b", "x".repeat(129), "id;drop"])
      expect(requestIdOf(bad)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(requestIdOf("x".repeat(128))).toBe("x".repeat(128));
  });

  it("takes a single call's JSON-RPC id when no X-Request-Id passes, if the id would pass as one", () => {
    expect(requestIdOf(undefined, { id: "call-1" })).toBe("call-1");
    expect(requestIdOf("given", { id: "call-1" })).toBe("given");
    expect(requestIdOf("a b", { id: "call-1" })).toBe("call-1");
    for (const payload of [{ id: 1 }, { id: "a b" }, { id: "" }, {}, [{ id: "call-1" }], null])
      expect(requestIdOf(undefined, payload)).toMatch(/^[0-9a-f-]{36}$/);
  });
});
