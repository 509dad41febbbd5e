import { ZodError, z } from "zod";
import { RpcCode, type RpcErrorObject } from "../protocol/jsonrpc.ts";
import { classifyFailure, type FailureCause, withCause } from "./failures.ts";

/**
 * The one error class a tool (or the machinery around it) throws to say what went wrong in JSON-RPC
 * terms. Anything else thrown by a handler is an internal error and is reported without its message
 * or stack.
 */
export class ToolError extends Error {
  override name = "ToolError";
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const unknownAgent = (agent: string) =>
  new ToolError(RpcCode.MethodNotFound, `unknown agent "${agent}"`, { agent });
export const unknownTool = (agent: string, tool: string) =>
  new ToolError(RpcCode.MethodNotFound, `unknown tool "${tool}" for agent "${agent}"`, { agent, tool });
export const invalidParams = (message: string, error: ZodError) =>
  new ToolError(RpcCode.InvalidParams, message, { issues: zodIssues(error) });
/** A domain refusal: the request was well-formed but the tool declines it (limits, state, venue). */
export const rejected = (message: string, data?: unknown) => new ToolError(RpcCode.Rejected, message, data);

/** Zod issues in a stable, JSON-friendly shape: where, what, and the code. */
export function zodIssues(error: ZodError): { path: string; message: string; code: string }[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message, code: i.code }));
}

/**
 * Maps anything thrown to a JSON-RPC error object. Every error names its cause with a stable code in
 * `data.cause` / `data.code` (see failures.ts): a ToolError keeps the ones it was made with, else gets
 * the defaults of its JSON-RPC code; a raw error is classified (network, exchange) when it can be, and
 * is otherwise internal, which never leaks its message or stack.
 */
export function toRpcError(err: unknown): RpcErrorObject {
  if (err instanceof ToolError) {
    return { code: err.code, message: err.message, data: withCause(err.code, err.data) };
  }
  if (err instanceof ZodError) {
    return {
      code: RpcCode.InvalidParams,
      message: `invalid params: ${z.prettifyError(err)}`,
      data: withCause(RpcCode.InvalidParams, { issues: zodIssues(err) }),
    };
  }
  const known = classifyFailure(err);
  if (known !== undefined) {
    return { code: RpcCode.Upstream, message: known.message, data: withCause(RpcCode.Upstream, known.data) };
  }
  return {
    code: RpcCode.InternalError,
    message: "internal error",
    data: withCause(RpcCode.InternalError, undefined),
  };
}

/** The HTTP status that matches a JSON-RPC error code, for `POST /tools/:tool`. */
export function httpStatusOf(code: number): 400 | 404 | 413 | 422 | 500 | 502 | 503 | 504 {
  switch (code) {
    case RpcCode.ParseError:
    case RpcCode.InvalidRequest:
    case RpcCode.InvalidParams:
      return 400;
    case RpcCode.MethodNotFound:
      return 404;
    case RpcCode.Rejected:
      return 422;
    case RpcCode.AgentUnavailable:
      return 503;
    case RpcCode.Upstream:
      return 502;
    case RpcCode.Timeout:
      return 504;
    default:
      return 500;
  }
}

/**
 * A failure with its cause and stable code (core/tools/failures.ts), e.g.
 * `failure(RpcCode.Rejected, "data", "data.invalid", "bar 2 …")`.
 */
export const failure = (
  rpcCode: number,
  cause: FailureCause,
  code: string,
  message: string,
  data?: Record<string, unknown>,
  options?: { cause?: unknown },
) => new ToolError(rpcCode, message, { ...data, cause, code }, options);

/** A raw error as a ToolError naming its cause when it can be classified (network, exchange); else undefined. */
export function asKnownFailure(err: unknown): ToolError | undefined {
  if (err instanceof ToolError) return err;
  const known = classifyFailure(err);
  return known === undefined
    ? undefined
    : new ToolError(RpcCode.Upstream, known.message, known.data, { cause: err });
}
