import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { rawClient } from "./raw-http.ts";

describe("rawClient (the latency benches' HTTP client)", async () => {
  const sockets: Socket[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(req.url === "/fail" ? 500 : 200).end("ok"));
  });
  server.on("connection", (s) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const post = (path: string) => `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\nhi`;
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("answers the next call on a new connection once the server closed an idle one", async () => {
    const client = await rawClient(port, post("/"));
    await client.call();
    // What node:http does to a keep-alive connection idle for its keepAliveTimeout.
    const closed = new Promise((resolve) => sockets[0]?.once("close", resolve));
    sockets[0]?.destroy();
    await closed;
    await client.call();
    expect(sockets).toHaveLength(2);
    client.close();
  });

  it("rejects an answer other than 200", async () => {
    const client = await rawClient(port, post("/fail"));
    await expect(client.call()).rejects.toThrow(/HTTP\/1.1 500/);
    client.close();
  });
});
