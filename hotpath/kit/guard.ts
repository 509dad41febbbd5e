import type { Context, MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { headerOf } from "./headers.ts";
import { isLoopback } from "./protect.ts";

/**
 * Browser-safety checks every kit service (and so the coordinator's `/mcp`, `/rpc`, dashboard and
 * SSE routes) runs before authentication:
 *
 * - **Host** must name this service: a loopback name, the bind address, or one of `allowedHosts`
 *   (`*` allows any). A page on `evil.com` whose DNS was rebound to 127.0.0.1 sends `Host: evil.com`.
 * - **Origin**, when a browser sends one, must be a loopback origin, the request's own origin (same
 *   origin as an allowed Host), or listed in `allowedOrigins` / `corsOrigins`; otherwise 403, as the
 *   MCP specification (2025-11-25, Streamable HTTP, security warning) asks.
 * - **Content-Type** of a state-changing request (POST, PUT, PATCH) must be `application/json`, so no
 *   cross-origin form or `text/plain` request (which a browser sends without a CORS preflight) reaches
 *   a tool: 415 otherwise.
 *
 * CORS stays closed (no `Access-Control-*` headers; a preflight is 404) unless `corsOrigins` lists
 * origins.
 */
export interface GuardOptions {
  /** Extra Host names (without port) accepted besides loopback and the bind host; `*` accepts any. */
  readonly allowedHosts: readonly string[];
  /** Extra exact origins (`https://ops.example.com`) accepted in an Origin header. */
  readonly allowedOrigins: readonly string[];
  /** Origins that get CORS answers (and are accepted as Origin). Empty: CORS closed. */
  readonly corsOrigins: readonly string[];
}

/** `host[:port]` → host name, lower case, IPv6 brackets kept off (`[::1]:3000` → `::1`). */
export function hostName(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    return end < 0 ? h : h.slice(1, end);
  }
  const colon = h.indexOf(":");
  return colon < 0 ? h : h.slice(0, colon);
}

/** `origin` (lower case) is `http://<host>` or `https://<host>`, without building either string. */
const sameOrigin = (origin: string, host: string): boolean =>
  origin.endsWith(host) &&
  ((origin.length === host.length + 7 && origin.startsWith("http://")) ||
    (origin.length === host.length + 8 && origin.startsWith("https://")));

const WILDCARD_BINDS = new Set(["0.0.0.0", "::", ""]);

/** A pure decision that keeps its last answer: clients send the same headers on every request. */
function remembered<A, B>(decide: (a: A, b: B) => boolean): (a: A, b: B) => boolean {
  let last: { a: A; b: B; allowed: boolean } | undefined;
  return (a, b) => {
    if (last === undefined || last.a !== a || last.b !== b) last = { a, b, allowed: decide(a, b) };
    return last.allowed;
  };
}

/** Whether an Origin is allowed: listed, loopback, or the request's own (an allowed Host's). */
function originListed(
  origin: string,
  hostHeader: string | undefined,
  origins: ReadonlySet<string>,
  hostAllowed: (host: string | undefined) => boolean,
): boolean {
  const o = origin.toLowerCase();
  if (origins.has(o)) return true;
  // Same origin, the common case of a page served by this service: no URL parse.
  if (hostHeader !== undefined && sameOrigin(o, hostHeader.trim().toLowerCase()) && hostAllowed(hostHeader))
    return true;
  let url: URL;
  try {
    url = new URL(o);
  } catch {
    return false; // "null" (sandboxed frames, file://) and garbage
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return false;
  const name = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  if (isLoopback(name)) return true;
  // Same origin: the page was served by this very service under a Host that passed the allowlist.
  return hostHeader !== undefined && url.host === hostHeader.trim().toLowerCase() && hostAllowed(hostHeader);
}

/** The pure decision: which Host and Origin values a service accepts (the last answers kept). */
export function hostPolicy(options: GuardOptions, bindHost?: string) {
  const anyHost = options.allowedHosts.includes("*");
  const hosts = new Set(options.allowedHosts.map((h) => hostName(h)));
  if (bindHost !== undefined && !WILDCARD_BINDS.has(bindHost)) hosts.add(hostName(bindHost));
  const origins = new Set([...options.allowedOrigins, ...options.corsOrigins].map((o) => o.toLowerCase()));
  const hostDecision = remembered((hostHeader: string | undefined, _: undefined) => {
    if (anyHost) return true;
    if (hostHeader === undefined || hostHeader === "") return false;
    const name = hostName(hostHeader);
    return isLoopback(name) || hosts.has(name);
  });
  const hostAllowed = (hostHeader: string | undefined): boolean => hostDecision(hostHeader, undefined);
  const originAllowed = remembered((origin: string, hostHeader: string | undefined) =>
    originListed(origin, hostHeader, origins, hostAllowed),
  );
  return { hostAllowed, originAllowed };
}

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH"]);

/** `application/json`, with or without parameters (`; charset=utf-8`). */
export function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  if (contentType === "application/json") return true;
  const semi = contentType.indexOf(";");
  const media = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return media === "application/json";
}

const refuse = (c: Context, status: 403 | 415, message: string) =>
  c.json({ error: { code: -32600, message } }, status);

/** Host, Origin and Content-Type checks as one middleware (see {@link GuardOptions}). */
export function browserGuard(options: GuardOptions, bindHost?: string): MiddlewareHandler {
  const policy = hostPolicy(options, bindHost);
  // Not async: the common (allowed) case hands on `next()`'s promise without an extra await.
  return (c, next) => {
    const host = headerOf(c, "host");
    if (!policy.hostAllowed(host))
      return Promise.resolve(
        refuse(
          c,
          403,
          `host ${JSON.stringify(host ?? "")} is not allowed (loopback only; set BOT4_ALLOWED_HOSTS to serve other names)`,
        ),
      );
    const origin = headerOf(c, "origin");
    if (origin !== undefined && !policy.originAllowed(origin, host))
      return Promise.resolve(
        refuse(
          c,
          403,
          `origin ${JSON.stringify(origin)} is not allowed (set BOT4_ALLOWED_ORIGINS to accept it)`,
        ),
      );
    if (STATE_CHANGING.has(c.req.method) && !isJson(headerOf(c, "content-type")))
      return Promise.resolve(
        refuse(c, 415, "Content-Type must be application/json for a state-changing request"),
      );
    return next();
  };
}

/** Hono's CORS middleware for the configured origins; undefined (no CORS at all) when none are. */
export function corsFor(options: GuardOptions): MiddlewareHandler | undefined {
  if (options.corsOrigins.length === 0) return undefined;
  return cors({
    origin: [...options.corsOrigins],
    allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
    allowHeaders: [
      "Content-Type",
      "Authorization",
      "Mcp-Session-Id",
      "Mcp-Protocol-Version",
      "Last-Event-ID",
      "X-Request-Id",
      "Bot4-Correlation-Id",
    ],
    exposeHeaders: ["Mcp-Session-Id", "WWW-Authenticate", "Retry-After", "X-Request-Id"],
    maxAge: 600,
  });
}
