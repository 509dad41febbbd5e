import type { Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { afterAll, describe, expect, it } from "vitest";
import { headerOf } from "./headers.ts";

const NAMES = ["host", "origin", "content-type", "authorization", "content-length", "x-absent"] as const;

/** Both readings of every name: headerOf's (node's raw list) and Hono's own (the Fetch view). */
const app = new Hono().post("/", async (c) => {
  await c.req.text();
  return c.json(Object.fromEntries(NAMES.map((n) => [n, { raw: headerOf(c, n), hono: c.req.header(n) }])));
});
const server = createAdaptorServer({ fetch: app.fetch }) as Server;
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const port = (server.address() as AddressInfo).port;
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Sends `head` lines as written (any case, repeats, padding) and answers the JSON body. */
function send(head: readonly string[]): Promise<Record<string, { raw?: string; hono?: string }>> {
  const body = "{}";
  const text = ["POST / HTTP/1.1", ...head, `Content-Length: ${body.length}`, "Connection: close", "", body];
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    socket.on("data", (d: Buffer) => {
      answer += d.toString("latin1");
    });
    socket.on("error", reject);
    socket.on("end", () => {
      if (!answer.startsWith("HTTP/1.1 200 ")) reject(new Error(answer.slice(0, 200)));
      else resolve(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)));
    });
    socket.write(text.join("\r\n"));
  });
}

describe("headerOf (node's raw header list) answers what c.req.header answers", () => {
  const cases: Record<string, string[]> = {
    "the usual capitalised names": [
      "Host: 127.0.0.1:3000",
      "Origin: http://127.0.0.1:3000",
      "Content-Type: application/json",
      "Authorization: Bearer k",
    ],
    "lower and odd case": [
      "host: a",
      "oRiGiN: http://a",
      "CONTENT-TYPE: text/plain",
      "authorization: Basic x",
    ],
    "a repeated Host (joined, not the first only)": ["Host: 127.0.0.1:3000", "Host: evil.com"],
    "a repeated Authorization and Content-Type": [
      "Host: a",
      "Authorization: Bearer right",
      "authorization: Bearer wrong",
      "Content-Type: application/json",
      "Content-Type: text/plain",
    ],
    "a repeated Origin": ["Host: a", "Origin: http://a", "Origin: http://evil.com"],
    "padded and empty values": ["Host:   a  ", "Origin:\t", "Authorization: \t Bearer  k \t"],
  };
  for (const [name, head] of Object.entries(cases))
    it(name, async () => {
      const seen = await send(head);
      for (const n of NAMES) expect(seen[n]?.raw, n).toBe(seen[n]?.hono);
      // The readings are the request's, not an empty answer twice.
      expect(seen.host?.hono).toBeDefined();
      expect(seen["content-length"]?.raw).toBe("2");
    });

  it("reads a repeated name as Hono does, and the values as sent", async () => {
    const seen = await send(["Host: 127.0.0.1:3000", "Host: evil.com", "Authorization: Bearer k"]);
    expect(seen.host?.raw).toBe("127.0.0.1:3000, evil.com");
    expect(seen.authorization?.raw).toBe("Bearer k");
    expect(seen["x-absent"]?.raw).toBeUndefined();
  });

  it("falls back to c.req.header off node's adapter (app.request)", async () => {
    const res = await app.request("/", {
      method: "POST",
      headers: { host: "h", authorization: "Bearer k" },
      body: "{}",
    });
    const seen = (await res.json()) as Record<string, { raw?: string; hono?: string }>;
    expect(seen.authorization).toEqual({ raw: "Bearer k", hono: "Bearer k" });
    expect(seen.origin?.raw).toBeUndefined();
  });
});
