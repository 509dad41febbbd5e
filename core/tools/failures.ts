import { z } from "zod";
import { RpcCode } from "../protocol/jsonrpc.ts";

/**
 * Why a call failed, in words a caller can branch on. Every error that reaches a caller carries
 * `data.cause` (one of {@link FailureCause}) and `data.code` (a stable dotted code, below), next to
 * the JSON-RPC code and the human message:
 *
 *   cause        codes
 *   input        input.invalid, input.parse, input.invalid_request, input.unknown
 *   network      network.unreachable (DNS, refused, no route), network.timeout, network.reset, network.error
 *   exchange     exchange.unavailable, exchange.rate_limited, exchange.rejected, exchange.error
 *   data         data.invalid, data.unavailable, data.too_large, data.insufficient (too few bars to train)
 *   model        model.missing, model.unknown, model.mismatch, model.integrity, model.unsafe (refers to
 *                external data), model.unavailable (a registry version where no I/O is allowed)
 *   compliance   compliance.refused
 *   risk         risk.refused
 *   unavailable  agent.unavailable (no instance, venue down)
 *   timeout      agent.timeout
 *   rejected     domain.rejected (any other refusal on domain grounds)
 *   internal     internal (a bug: nothing more is said)
 *
 * Codes are stable: new ones may be added, existing ones are never renamed.
 */
export const FailureCause = z.enum([
  "input",
  "network",
  "exchange",
  "data",
  "model",
  "compliance",
  "risk",
  "unavailable",
  "timeout",
  "rejected",
  "internal",
]);
export type FailureCause = z.infer<typeof FailureCause>;

const DEFAULTS: Record<number, { cause: FailureCause; code: string }> = {
  [RpcCode.ParseError]: { cause: "input", code: "input.parse" },
  [RpcCode.InvalidRequest]: { cause: "input", code: "input.invalid_request" },
  [RpcCode.MethodNotFound]: { cause: "input", code: "input.unknown" },
  [RpcCode.InvalidParams]: { cause: "input", code: "input.invalid" },
  [RpcCode.InternalError]: { cause: "internal", code: "internal" },
  [RpcCode.Timeout]: { cause: "timeout", code: "agent.timeout" },
  [RpcCode.AgentUnavailable]: { cause: "unavailable", code: "agent.unavailable" },
  [RpcCode.Rejected]: { cause: "rejected", code: "domain.rejected" },
  [RpcCode.Upstream]: { cause: "network", code: "network.error" },
};

/** `data` with `cause` and `code` set to the defaults of the JSON-RPC code where it names none. */
export function withCause(rpcCode: number, data: unknown): unknown {
  const d = DEFAULTS[rpcCode] ?? DEFAULTS[RpcCode.InternalError];
  if (data === undefined) return { ...d };
  if (typeof data !== "object" || data === null || Array.isArray(data)) return { ...d, detail: data };
  const record = data as Record<string, unknown>;
  return {
    ...record,
    cause: typeof record.cause === "string" ? record.cause : d?.cause,
    code: typeof record.code === "string" ? record.code : d?.code,
  };
}

const UNREACHABLE = new Set([
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
]);
const TIMEOUT = new Set([
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
]);
const RESET = new Set(["ECONNRESET", "ECONNABORTED", "UND_ERR_SOCKET"]);

/** Names of an error's class chain (ccxt's NetworkError ⊂ BaseError, …) and its `name`. */
function classNames(err: object): Set<string> {
  const names = new Set<string>();
  const name = (err as { name?: unknown }).name;
  if (typeof name === "string") names.add(name);
  for (
    let p = Object.getPrototypeOf(err);
    p !== null && p !== Object.prototype;
    p = Object.getPrototypeOf(p)
  ) {
    const ctor = (p as { constructor?: { name?: string } }).constructor;
    if (ctor?.name) names.add(ctor.name);
  }
  return names;
}

/** The errno-style code anywhere along the `cause` chain (ENOTFOUND, ECONNREFUSED, …). */
function errnoOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (typeof e === "object") {
      const code = (e as { code?: unknown }).code;
      if (typeof code === "string" && /^[A-Z_]+$/.test(code)) return code;
      const fromMessage = (e as { message?: unknown }).message;
      if (typeof fromMessage === "string") {
        const m = fromMessage.match(
          /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)\b/,
        );
        if (m?.[1] !== undefined) return m[1];
      }
      e = (e as { cause?: unknown }).cause;
    } else break;
  }
  return undefined;
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Classifies a raw error (not a ToolError) by what it is: a network failure (an errno code on the
 * cause chain, ccxt's NetworkError family, fetch's "fetch failed") or an exchange error (ccxt's
 * ExchangeError family). Undefined for anything else (a bug: internal).
 */
export function classifyFailure(
  err: unknown,
): { message: string; data: { cause: FailureCause; code: string; errno?: string } } | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const names = classNames(err);
  const errno = errnoOf(err);
  const withErrno = errno !== undefined ? { errno } : {};
  const network = (code: string, what: string) => ({
    message: `network: ${what}: ${messageOf(err)}`,
    data: { cause: "network" as const, code, ...withErrno },
  });
  if (names.has("DDoSProtection") || names.has("RateLimitExceeded")) {
    return {
      message: `exchange: rate limited: ${messageOf(err)}`,
      data: { cause: "exchange", code: "exchange.rate_limited" },
    };
  }
  if (names.has("ExchangeNotAvailable") || names.has("OnMaintenance")) {
    return {
      message: `exchange: unavailable: ${messageOf(err)}`,
      data: { cause: "exchange", code: "exchange.unavailable", ...withErrno },
    };
  }
  if (errno !== undefined && UNREACHABLE.has(errno)) return network("network.unreachable", "unreachable");
  if ((errno !== undefined && TIMEOUT.has(errno)) || names.has("RequestTimeout") || names.has("TimeoutError"))
    return network("network.timeout", "timed out");
  if (errno !== undefined && RESET.has(errno)) return network("network.reset", "connection reset");
  if (names.has("NetworkError") || /fetch failed/i.test(messageOf(err)))
    return network("network.error", "failed");
  if (names.has("ExchangeError")) {
    return { message: `exchange: ${messageOf(err)}`, data: { cause: "exchange", code: "exchange.rejected" } };
  }
  if (names.has("BaseError") && names.has("Error") && [...names].some((n) => n.startsWith("Exchange"))) {
    return { message: `exchange: ${messageOf(err)}`, data: { cause: "exchange", code: "exchange.error" } };
  }
  return undefined;
}
