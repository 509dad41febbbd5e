import { createHash } from "node:crypto";
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";

/**
 * A minimal WebSocket server (RFC 6455: handshake, text frames, ping/pong, close) on an existing
 * node:http server, enough for ccxt.pro's websocket client. No extensions, no fragmentation; client
 * frames are masked as the RFC requires, server frames are not.
 */
export interface WsConnection {
  send(text: string): void;
  close(): void;
  readonly path: string;
}

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (len < 126) head[1] = len;
  else if (len < 65_536) {
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

export function serveWebSocket(
  server: Server,
  onOpen: (conn: WsConnection) => (text: string) => void,
): Set<Duplex> {
  const sockets = new Set<Duplex>();
  server.on("upgrade", (req: IncomingMessage, socket: Duplex) => {
    const key = req.headers["sec-websocket-key"];
    if (typeof key !== "string") {
      socket.destroy();
      return;
    }
    const accept = createHash("sha1")
      .update(key + GUID)
      .digest("base64");
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    sockets.add(socket);
    let open = true;
    const conn: WsConnection = {
      path: req.url ?? "/",
      send: (text) => {
        if (open) socket.write(frame(0x1, Buffer.from(text, "utf8")));
      },
      close: () => {
        if (!open) return;
        open = false;
        socket.end(frame(0x8, Buffer.alloc(0)));
      },
    };
    const onText = onOpen(conn);
    let buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (buffer.length < 2) return;
        const opcode = (buffer[0] ?? 0) & 0x0f;
        const masked = ((buffer[1] ?? 0) & 0x80) !== 0;
        let len = (buffer[1] ?? 0) & 0x7f;
        let offset = 2;
        if (len === 126) {
          if (buffer.length < 4) return;
          len = buffer.readUInt16BE(2);
          offset = 4;
        } else if (len === 127) {
          if (buffer.length < 10) return;
          len = Number(buffer.readBigUInt64BE(2));
          offset = 10;
        }
        const maskAt = offset;
        if (masked) offset += 4;
        if (buffer.length < offset + len) return;
        const payload = Buffer.from(buffer.subarray(offset, offset + len));
        if (masked)
          for (let i = 0; i < len; i++) payload[i] = (payload[i] ?? 0) ^ (buffer[maskAt + (i % 4)] ?? 0);
        buffer = buffer.subarray(offset + len);
        if (opcode === 0x1) onText(payload.toString("utf8"));
        else if (opcode === 0x9) socket.write(frame(0xa, payload));
        else if (opcode === 0x8) {
          conn.close();
          return;
        }
      }
    });
    const gone = () => {
      open = false;
      sockets.delete(socket);
    };
    socket.on("close", gone);
    socket.on("error", gone);
  });
  return sockets;
}
