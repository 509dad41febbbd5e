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
 * A socket the server closed (node:http ends keep-alive connections idle for 5 s, as an interleaved
 * bench leaves them) is opened again before the next call, and a call whose socket closes before its
 * answer is sent once more on a new one; a second close rejects it.
 */
export async function rawClient(port: number, request: string) {
  const bytes = Buffer.from(request, "latin1");
  let pending: { resolve: () => void; reject: (err: Error) => void; retried: boolean } | undefined;
  let buffered = "";
  const onData = (chunk: Buffer) => {
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
  };
  const open = async (): Promise<Socket> => {
    const s = connect(port, "127.0.0.1");
    s.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      s.once("connect", resolve);
      s.once("error", reject);
    });
    s.on("data", onData);
    // An error is followed by close, which decides.
    s.on("error", () => undefined);
    s.on("close", () => {
      buffered = "";
      const call = pending;
      if (call === undefined) return;
      if (call.retried) {
        pending = undefined;
        call.reject(new Error("connection closed before the answer, twice"));
        return;
      }
      call.retried = true;
      open().then((fresh) => {
        socket = fresh;
        fresh.write(bytes);
      }, call.reject);
    });
    return s;
  };
  let socket = await open();
  const send = () =>
    new Promise<void>((resolve, reject) => {
      pending = { resolve, reject, retried: false };
      socket.write(bytes);
    });
  return {
    call: (): Promise<void> =>
      socket.writable
        ? send()
        : open().then((fresh) => {
            socket = fresh;
            return send();
          }),
    close: () => socket.destroy(),
  };
}
