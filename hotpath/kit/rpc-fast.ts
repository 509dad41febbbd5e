import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import {
  answerRpc,
  correlationFrom,
  isRequestId,
  type RpcRoute,
  rpcRequestIdOf,
} from "../../adapters/http/tool-routes.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { headers as bot4Headers } from "../../core/subjects.ts";
import { hostPolicy, isJson } from "./guard.ts";
import type { TokenBuckets } from "./protect.ts";
import type { ProtectionOptions } from "./types.ts";

/** A node:http listener that may hand a request on to `next` (the Hono app) instead of answering it. */
export type FastListener = (req: IncomingMessage, res: ServerResponse, next: NextListener) => void;
export type NextListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The request id of a `/rpc` call, as the Hono route has it: its `X-Request-Id` if hono's middleware
 * would keep it, else the JSON-RPC id if it passes as one ({@link rpcRequestIdOf}), else a fresh one.
 */
export function requestIdOf(header: string | undefined, payload?: unknown): string {
  if (isRequestId(header)) return header;
  return rpcRequestIdOf(payload) ?? randomUUID();
}

/**
 * The headers hono's `secureHeaders()` (as the kit's app uses it) sets on every answer, read once
 * from the middleware itself so the two entry points cannot drift apart.
 */
export async function secureHeaderList(): Promise<[string, string][]> {
  const probe = new Hono();
  probe.use(secureHeaders());
  probe.get("/", (c) => c.body(null, 204));
  const res = await probe.request("/");
  return [...res.headers];
}

export interface FastRpcOptions extends RpcRoute {
  protection: ProtectionOptions;
  /** The address the server is bound to (accepted as a Host name). */
  host?: string;
  /** The Hono app's rate-limit buckets (one budget per client whichever entry point it calls). */
  buckets?: TokenBuckets;
  /** {@link secureHeaderList}. */
  secureHeaders: readonly [string, string][];
}

const CORRELATION_HEADER = bot4Headers.correlationId.toLowerCase();

/**
 * `POST /rpc` answered straight on node:http for the plain call, without building web Request,
 * Headers and Response objects (hono's adapter and middleware cost more than the rest of the
 * coordinator's hop). Plain means what the kit's middleware would let through untouched: no Origin
 * header (no browser, so no Origin or CORS decision), an allowed Host, a JSON Content-Type, a
 * declared Content-Length within the body limit, a rate-limit token, one JSON request (not a batch).
 * Anything else — and every service with API keys, CORS origins or debug request logs — is handed
 * to the Hono app (the body already read travels as `rawBody`), which answers exactly as before. The
 * answer itself is the Hono route's ({@link answerRpc}), with the same request id, correlation id and
 * security headers. Undefined: the service takes no fast path.
 */
export function fastRpc(o: FastRpcOptions): FastListener | undefined {
  const { protection } = o;
  if (protection.apiKeys.length > 0 || protection.corsOrigins.length > 0) return undefined;
  if (o.logger.isLevelEnabled("debug")) return undefined;
  const plain = plainHead(hostPolicy(protection, o.host), protection.bodyLimitBytes);
  const fixed = o.secureHeaders.flat();
  return (req, res, next) => {
    if (!plain(req)) return next(req, res);
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      const text = body.toString("utf8");
      const payload = parsed(text);
      // The body's bytes are what a relay forwards (not encoded again from the text).
      if (takesFastPath(req, payload, o.buckets)) void answer(req, res, payload, body, o, fixed);
      else handOn(req, res, body, next);
    });
  };
}

/**
 * A parse error or a batch (its cap, its extra rate-limit tokens) is the Hono route's to answer, and
 * so is a call whose client has no token left (the Hono app finds none either and answers 429).
 */
function takesFastPath(req: IncomingMessage, payload: unknown, buckets: TokenBuckets | undefined): boolean {
  if (payload === undefined || Array.isArray(payload)) return false;
  return buckets === undefined || buckets.take(`ip:${req.socket.remoteAddress ?? "unknown"}`) === 0;
}

/** Whether a request is `POST /rpc` whose head the kit's middleware would let through untouched. */
function plainHead(policy: ReturnType<typeof hostPolicy>, limit: number) {
  return (req: IncomingMessage): boolean => {
    if (req.method !== "POST" || req.url !== "/rpc") return false;
    const h = req.headers;
    const declared = h["content-length"];
    return (
      h.origin === undefined &&
      declared !== undefined &&
      h["transfer-encoding"] === undefined &&
      Number(declared) <= limit &&
      policy.hostAllowed(h.host) &&
      isJson(h["content-type"])
    );
  };
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Runs one call through the Hono route's {@link answerRpc} and writes its answer with the kit's headers. */
async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  payload: unknown,
  raw: Uint8Array,
  o: FastRpcOptions,
  fixed: readonly string[],
): Promise<void> {
  const requestId = requestIdOf(header(req, "x-request-id"), payload);
  const correlationId = correlationFrom(header(req, CORRELATION_HEADER), requestId);
  let status = 200;
  let out: string | Uint8Array | undefined;
  try {
    out = await answerRpc(payload, raw, o, correlationId);
  } catch (err) {
    o.logger.error({ err, requestId, path: "/rpc" }, "unhandled error");
    status = 500;
    out = JSON.stringify({ error: { code: RpcCode.InternalError, message: "internal error" } });
  }
  if (res.destroyed) return;
  const head = ["x-request-id", requestId, ...fixed];
  if (out === undefined) {
    res.writeHead(204, head).end();
    return;
  }
  const length = typeof out === "string" ? Buffer.byteLength(out) : out.byteLength;
  head.push("content-type", "application/json", "content-length", String(length));
  res.writeHead(status, head).end(out);
}

/** A request header as one string (node:http joins repeated ones, as a web Headers `get` does). */
const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === "string" ? v : undefined;
};

/** Hands a request whose body was already read on to the Hono app (@hono/node-server reads `rawBody`). */
function handOn(req: IncomingMessage, res: ServerResponse, body: Buffer, next: NextListener): void {
  next(Object.assign(req, { rawBody: body }), res);
}
