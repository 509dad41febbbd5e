import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { rateLimit } from "../kit/protect.ts";
import { RATE_LIMIT_RETRIES } from "../../core/protocol/retry-after.ts";
import { CoordinatorClient } from "./http-directory.ts";

/** A real HTTP server on a free port; closed after each test. */
const servers: Server[] = [];
async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe("the coordinator client under a rate limit", () => {
  it("waits out a 429's Retry-After and sends again, so a burst past the bucket still succeeds", async () => {
    // The kit's token bucket: 1 call at once, 2 per second after that.
    const app = new Hono();
    app.use(rateLimit({ perSecond: 2, burst: 1 }));
    let executed = 0;
    app.post("/rpc", async (c) => {
      executed += 1;
      const req = (await c.req.json()) as { id: string };
      return c.json({ jsonrpc: "2.0", id: req.id, result: { n: executed } });
    });
    const url = await listen(createAdaptorServer({ fetch: app.fetch }) as Server);
    const client = new CoordinatorClient({ url, timeoutMs: 5_000 });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await client.call("risk", "calculate_kelly", {}));
    // Each refused call ran nothing; each one sent again ran exactly once.
    expect(answers).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(executed).toBe(3);
  });

  it("gives up after a bounded number of retries with the server's 429 message", async () => {
    let requests = 0;
    const url = await listen(
      createServer((_req, res) => {
        requests += 1;
        res.writeHead(429, { "content-type": "application/json", "retry-after": "0" });
        res.end(JSON.stringify({ error: { code: 429, message: "rate limit exceeded: retry after 0 s" } }));
      }),
    );
    const client = new CoordinatorClient({ url, timeoutMs: 5_000 });
    await expect(client.call("risk", "calculate_kelly", {})).rejects.toThrow(
      "HTTP 429: rate limit exceeded: retry after 0 s",
    );
    expect(requests).toBe(1 + RATE_LIMIT_RETRIES);
  });

  it("does not retry other refusals", async () => {
    let requests = 0;
    const url = await listen(
      createServer((_req, res) => {
        requests += 1;
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: 401, message: "missing or invalid API key" } }));
      }),
    );
    const client = new CoordinatorClient({ url, timeoutMs: 5_000 });
    await expect(client.status()).rejects.toThrow("HTTP 401: missing or invalid API key");
    expect(requests).toBe(1);
  });
});
