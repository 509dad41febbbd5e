import { createHash, timingSafeEqual } from "node:crypto";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Config } from "../../core/config.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import type { ProtectionOptions } from "./types.ts";

/** The kit's protection settings: the config's, overridden by the caller's. */
export function protectionOf(config: Config, overrides: Partial<ProtectionOptions> = {}): ProtectionOptions {
  const defaults = {
    apiKeys: config.BOT4_API_KEYS,
    rateLimit:
      config.BOT4_RATE_LIMIT > 0
        ? { perSecond: config.BOT4_RATE_LIMIT, burst: config.BOT4_RATE_BURST }
        : false,
    bodyLimitBytes: config.BOT4_BODY_LIMIT,
    allowInsecureBind: config.BOT4_ALLOW_INSECURE_BIND,
  } satisfies ProtectionOptions;
  return { ...defaults, ...overrides };
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);
export const isLoopback = (host: string) => LOOPBACK.has(host) || host.startsWith("127.");

/**
 * The host a service may bind to. Without API keys it serves on loopback only: a wider host falls back
 * to 127.0.0.1 with an error-level log, unless `allowInsecureBind` says otherwise (then a loud warning).
 */
export function bindHost(host: string, protection: ProtectionOptions, logger: Logger): string {
  if (protection.apiKeys.length > 0 || isLoopback(host)) return host;
  if (protection.allowInsecureBind) {
    logger.warn(
      { host },
      "!!! SERVING WITHOUT AUTHENTICATION ON A NON-LOOPBACK ADDRESS: anyone who reaches this host can call every tool (set BOT4_API_KEYS) !!!",
    );
    return host;
  }
  logger.error(
    { requested: host, bound: "127.0.0.1" },
    "no BOT4_API_KEYS set: serving on loopback only; set BOT4_API_KEYS (or BOT4_ALLOW_INSECURE_BIND=true) to bind wider",
  );
  return "127.0.0.1";
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * Bearer-token authentication against a fixed key set. Tokens are compared as SHA-256 digests with
 * `timingSafeEqual`, against every key without an early exit, so timing reveals neither the key nor
 * which key matched. Sets `client` to a short, non-secret key fingerprint.
 */
export function apiKeyAuth(keys: readonly string[]): MiddlewareHandler {
  const digests = keys.map(digest);
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (match?.[1] === undefined) return unauthorized(c, "missing bearer token");
    const given = digest(match[1]);
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(d, given) || ok;
    if (!ok) return unauthorized(c, "invalid API key");
    c.set("client", `key:${given.subarray(0, 4).toString("hex")}`);
    await next();
  };
}

function unauthorized(c: Context, message: string) {
  c.header("WWW-Authenticate", 'Bearer realm="bot4"');
  return c.json({ error: { code: 401, message } }, 401);
}

/** The client a request is counted against: its key fingerprint, else its remote address. */
export function clientOf(c: Context): string {
  const client = c.get("client");
  if (typeof client === "string") return client;
  try {
    return `ip:${getConnInfo(c).remote.address ?? "unknown"}`;
  } catch {
    return "ip:local";
  }
}

interface Bucket {
  tokens: number;
  at: number;
}

/** A token bucket per client: `burst` tokens, refilled at `perSecond`; past it, 429 with Retry-After. */
export function rateLimit(limit: { perSecond: number; burst: number }, now = () => performance.now()) {
  const buckets = new Map<string, Bucket>();
  const refill = (b: Bucket, t: number) => {
    b.tokens = Math.min(limit.burst, b.tokens + ((t - b.at) / 1000) * limit.perSecond);
    b.at = t;
  };
  const sweep = (t: number) => {
    for (const [k, b] of buckets) {
      refill(b, t);
      if (b.tokens >= limit.burst) buckets.delete(k);
    }
  };
  const middleware: MiddlewareHandler = async (c, next) => {
    const t = now();
    const client = clientOf(c);
    let b = buckets.get(client);
    if (b === undefined) {
      if (buckets.size >= 10_000) sweep(t);
      b = { tokens: limit.burst, at: t };
      buckets.set(client, b);
    } else {
      refill(b, t);
    }
    if (b.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - b.tokens) / limit.perSecond));
      c.header("Retry-After", String(retryAfter));
      return c.json(
        { error: { code: 429, message: `rate limit exceeded: retry after ${retryAfter} s`, client } },
        429,
      );
    }
    b.tokens -= 1;
    await next();
  };
  return middleware;
}

/**
 * A body size limit (413 above `maxSize`). A declared Content-Length is checked without touching the
 * body, which keeps @hono/node-server's fast body read (Hono's bodyLimit reads `req.raw.body`, which
 * builds a full web Request per call); only chunked bodies go through Hono's streaming count.
 */
export function limitBody(
  maxSize: number,
  onError: (c: Context) => Response | Promise<Response>,
): MiddlewareHandler {
  const streaming = bodyLimit({ maxSize, onError });
  return async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const length = c.req.header("content-length");
    if (length !== undefined && c.req.header("transfer-encoding") === undefined) {
      if (Number(length) > maxSize) return onError(c);
      return next();
    }
    return streaming(c, next);
  };
}

declare module "hono" {
  interface ContextVariableMap {
    client: string;
  }
}
