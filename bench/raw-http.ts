import type { Server } from "node:http";
import { connect, type Socket } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import type { Hono } from "hono";

/** An app served by @hono/node-server (the kit's adapter) on a free loopback port. */
export async function serveOnLoopback(app: Hono): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The leanest HTTP/1.1 client for a latency bench: one keep-alive socket that writes the same request
 * bytes each call and resolves once the whole answer (headers and Content-Length bytes) is in, so the
 * client side costs next to nothing beside the server under test. Rejects on a status other than 200.
 */
export async function rawClient(port: number, request: string) {
  const bytes = Buffer.from(request, "latin1");
  const socket: Socket = connect(port, "127.0.0.1");
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let pending: { resolve: () => void; reject: (err: Error) => void } | undefined;
  let buffered = "";
  socket.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("latin1");
    const end = buffered.indexOf("\r\n\r\n");
    if (end < 0 || pending === undefined) return;
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
    if (buffered.length < end + 4 + length) return;
    const answer = buffered;
    const done = pending;
    buffered = "";
    pending = undefined;
    if (answer.startsWith("HTTP/1.1 200 ")) done.resolve();
    else done.reject(new Error(`answer: ${answer.slice(0, 300)}`));
  });
  return {
    call: () =>
      new Promise<void>((resolve, reject) => {
        pending = { resolve, reject };
        socket.write(bytes);
      }),
    close: () => socket.destroy(),
  };
}
