import { createHash } from "node:crypto";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Config } from "../../core/config.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import { headerOf } from "./headers.ts";
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
    allowedHosts: config.BOT4_ALLOWED_HOSTS,
    allowedOrigins: config.BOT4_ALLOWED_ORIGINS,
    corsOrigins: config.BOT4_CORS_ORIGINS,
    rpcBatchMax: config.BOT4_RPC_BATCH_MAX,
    authFailuresPerMinute:
      config.BOT4_AUTH_FAILURES_PER_MINUTE > 0 ? config.BOT4_AUTH_FAILURES_PER_MINUTE : false,
  } satisfies ProtectionOptions;
  return { ...defaults, ...overrides };
}

const LOOPBACK = new Set(["::1", "localhost"]);
/** A loopback name: localhost, ::1 or an IPv4 address in 127.0.0.0/8 (not a name like `127.0.0.1.evil.com`). */
export const isLoopback = (host: string) => LOOPBACK.has(host) || /^127(\.\d{1,3}){3}$/.test(host);

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

/** Compared width of a key and a token: keys up to this many UTF-16 code units take the same time to check. */
const KEY_SLOT_UNITS = 64;

/**
 * A constant-time matcher of a token against a fixed key set: the token and every key are compared as
 * zero-padded slots of UTF-16 code units of one width (64, or the longest key rounded up to a multiple
 * of it), packed two to a 32-bit word, every word of every slot folded into one difference (`|=` of
 * `^`, no early exit), lengths compared apart. So the time depends only on the number of keys and the
 * width (and, a word's worth, on the token's own length up to the width), never on a key's content,
 * its length, or which key matched. Plain integer work on typed arrays: no hash, no Buffer encoding
 * and no native call per request (a SHA-256 per request cost more than all the other checks together;
 * a UTF-8 encoding plus a `timingSafeEqual` per key still 2–3× this). Code units, not UTF-8 bytes, so
 * a lone surrogate is not confused with U+FFFD. Answers the matched key's client label (`key:` and the
 * first 4 bytes of its SHA-256, hex: a short, non-secret fingerprint), or undefined.
 */
export function keyMatcher(keys: readonly string[]): (token: string) => string | undefined {
  const longest = Math.max(0, ...keys.map((k) => k.length));
  const width = Math.max(1, Math.ceil(longest / KEY_SLOT_UNITS)) * KEY_SLOT_UNITS;
  const slots = keys.map((k) => ({
    words: packUnits(k, new Int32Array(width / 2)),
    length: k.length,
    client: `key:${digest(k).subarray(0, 4).toString("hex")}`,
  }));
  // Filled synchronously per call, every word of it.
  const given = new Int32Array(width / 2);
  return (token) => {
    // A token longer than `width` is compared like any other (its first `width` units) and fails on
    // its length, so an over-long token takes no shorter a path.
    packUnits(token, given);
    const length = token.length;
    let client: string | undefined;
    for (const s of slots) {
      const words = s.words;
      let diff = s.length ^ length;
      for (let i = 0; i < words.length; i++) diff |= (words[i] as number) ^ (given[i] as number);
      if (diff === 0) client = s.client;
    }
    return client;
  };
}

/** Writes `s`'s first UTF-16 code units into every word of `into`, two a word (low first), zero-padded. */
function packUnits(s: string, into: Int32Array): Int32Array {
  const units = Math.min(s.length, into.length * 2);
  const pairs = units >> 1;
  let w = 0;
  for (; w < pairs; w++) into[w] = s.charCodeAt(2 * w) | (s.charCodeAt(2 * w + 1) << 16);
  if (w < into.length) into[w++] = units > 2 * pairs ? s.charCodeAt(2 * pairs) : 0;
  for (; w < into.length; w++) into[w] = 0;
  return into;
}

/**
 * Bearer-token authentication against a fixed key set, compared in constant time by
 * {@link keyMatcher}, so timing reveals neither a key nor which key matched. Sets `client` to a short,
 * non-secret key fingerprint. With `failures`, failed attempts are limited per remote address (429).
 */
export function apiKeyAuth(
  keys: readonly string[],
  failures: { perMinute: number } | false = false,
  now = () => performance.now(),
): MiddlewareHandler {
  const match = keyMatcher(keys);
  const limit = failureLimit(failures, now);
  return (c, next) => {
    const locked = limit?.refusal(c);
    if (locked !== undefined) return Promise.resolve(locked);
    const token = bearerToken(headerOf(c, "authorization"));
    const client = token === undefined ? undefined : match(token);
    if (client === undefined) {
      limit?.failed(c);
      return Promise.resolve(
        unauthorized(c, token === undefined ? "missing bearer token" : "invalid API key"),
      );
    }
    c.set("client", client);
    return next();
  };
}

/**
 * Failed authentications per remote address: `perMinute` a minute, the same as a burst. `refusal`
 * answers 429 for an address out of tries; `failed` counts one failure.
 */
function failureLimit(failures: { perMinute: number } | false, now: () => number) {
  if (failures === false) return undefined;
  const buckets = new TokenBuckets({ perSecond: failures.perMinute / 60, burst: failures.perMinute }, now);
  return {
    refusal(c: Context): Response | undefined {
      // Until some address has failed, no address is out of tries: no lookup of the caller's.
      if (buckets.size === 0) return undefined;
      const address = clientOf(c);
      const wait = buckets.wait(address);
      return wait > 0 ? tooMany(c, wait, "too many failed authentications", address) : undefined;
    },
    failed(c: Context): void {
      buckets.take(clientOf(c));
    },
  };
}

/** The token of an `Authorization: Bearer <token>` header (scheme in any case), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(.+)$/i.exec((header ?? "").trim())?.[1];
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

/**
 * Token buckets per client: `burst` tokens, refilled at `perSecond`. `take(client, n)` takes n tokens
 * all-or-nothing and answers 0, or the whole seconds until n tokens are back (nothing taken).
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  constructor(
    readonly limit: { perSecond: number; burst: number },
    private readonly now: () => number = () => performance.now(),
  ) {}

  private refill(b: Bucket, t: number) {
    b.tokens = Math.min(this.limit.burst, b.tokens + ((t - b.at) / 1000) * this.limit.perSecond);
    b.at = t;
  }

  private bucket(client: string, t: number): Bucket {
    let b = this.buckets.get(client);
    if (b === undefined) {
      if (this.buckets.size >= 10_000) {
        for (const [k, old] of this.buckets) {
          this.refill(old, t);
          if (old.tokens >= this.limit.burst) this.buckets.delete(k);
        }
      }
      b = { tokens: this.limit.burst, at: t };
      this.buckets.set(client, b);
    } else {
      this.refill(b, t);
    }
    return b;
  }

  /** How many clients have a bucket (one that took a token); 0: every client has its full burst. */
  get size(): number {
    return this.buckets.size;
  }

  /** Seconds to wait before `n` tokens are there (0: taken now). */
  take(client: string, n = 1): number {
    const b = this.bucket(client, this.now());
    if (b.tokens < n) return Math.max(1, Math.ceil((n - b.tokens) / this.limit.perSecond));
    b.tokens -= n;
    return 0;
  }

  /** Seconds until one token is there, without taking any (0: a token is there). */
  wait(client: string): number {
    const b = this.bucket(client, this.now());
    return b.tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - b.tokens) / this.limit.perSecond));
  }
}

/** A 429 answer with Retry-After. */
export function tooMany(c: Context, retryAfter: number, message: string, client: string) {
  c.header("Retry-After", String(retryAfter));
  return c.json({ error: { code: 429, message: `${message}: retry after ${retryAfter} s`, client } }, 429);
}

/**
 * A token bucket per client: `burst` tokens, refilled at `perSecond`; past it, 429 with Retry-After.
 * A request takes one token; a handler may take more for the same request through `c.get("rateTake")`
 * (a JSON-RPC batch takes one per member). `buckets` may be shared with another entry point (the
 * kit's node:http `/rpc` fast path), so a client has one budget however it calls.
 */
export function rateLimit(
  limit: { perSecond: number; burst: number },
  now = () => performance.now(),
  buckets = new TokenBuckets(limit, now),
) {
  // Not async: the common (allowed) case hands on `next()`'s promise without an extra await.
  const middleware: MiddlewareHandler = (c, next) => {
    const client = clientOf(c);
    const retryAfter = buckets.take(client);
    if (retryAfter > 0) return Promise.resolve(tooMany(c, retryAfter, "rate limit exceeded", client));
    c.set("rateTake", (n: number) => buckets.take(client, n));
    return next();
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
  // Not async, like the guard: an allowed request hands on `next()`'s promise.
  return (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const length = headerOf(c, "content-length");
    if (length !== undefined && headerOf(c, "transfer-encoding") === undefined) {
      if (Number(length) > maxSize) return Promise.resolve(onError(c));
      return next();
    }
    return streaming(c, next);
  };
}

declare module "hono" {
  interface ContextVariableMap {
    client: string;
    /** Takes n more tokens of this request's client bucket: 0, or seconds to wait (nothing taken). */
    rateTake: (n: number) => number;
  }
}
