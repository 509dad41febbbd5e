import { randomUUID } from "node:crypto";
import { findAgent } from "../agents/manifest.ts";
import {
  RpcCode,
  type RpcErrorObject,
  type RpcId,
  RpcRequest,
  type RpcResponse,
  TOOL_EXECUTE,
  ToolExecuteParams,
  rpcError,
  rpcResult,
} from "../protocol/jsonrpc.ts";
import { callLogger, type Logger } from "../telemetry/log.ts";
import { toRpcError, unknownAgent, zodIssues } from "./errors.ts";
import { servesAgent, type ToolRegistry } from "./registry.ts";
import type { CallIds, ToolContext } from "./tool.ts";

/** Runs one tool of one agent. Local registries, NATS routing and tests all fit this shape. */
export type Dispatch = (call: ToolExecuteParams, ctx: ToolContext) => Promise<unknown>;

/** How a JSON-RPC payload came in: its ids, its transport, the logger and the batch cap. */
export interface RpcMeta extends CallIds {
  transport: ToolContext["transport"];
  logger: Logger;
  /** Most members of one batch; a larger batch is refused whole (-32600). Default {@link MAX_BATCH}. */
  maxBatch?: number;
}

/** The default cap on a JSON-RPC batch (BOT4_RPC_BATCH_MAX). */
export const MAX_BATCH = 100;

/** Dispatches to the registries of this process; an agent they do not serve is unknown here. */
export function localDispatch(registries: readonly ToolRegistry[]): Dispatch {
  return (call, ctx) => {
    const registry = registries.find((r) => servesAgent(r, call.agent));
    if (registry === undefined) throw unknownAgent(call.agent);
    return registry.call(call.tool, call.args, ctx);
  };
}

/** Canonical agent name for a name or alias; unknown names pass through unchanged. */
export const canonicalAgent = (nameOrAlias: string) => findAgent(nameOrAlias)?.name ?? nameOrAlias;

/**
 * Executes a JSON-RPC 2.0 payload — a request, a notification or a batch — given as raw text (parse
 * errors are ours to report) or as an already-parsed value. Returns the response, the array of
 * responses of a batch (in request order), or undefined when nothing must be answered (notifications).
 */
export function executeRpc(
  payload: string | unknown,
  dispatch: Dispatch,
  meta: RpcMeta,
): Promise<RpcResponse | RpcResponse[] | undefined> {
  let value: unknown = payload;
  if (typeof payload === "string") {
    try {
      value = JSON.parse(payload);
    } catch {
      return Promise.resolve(rpcError(null, RpcCode.ParseError, "parse error: the body is not valid JSON"));
    }
  }
  if (Array.isArray(value)) return executeBatch(value, dispatch, meta);
  // One request (the common case) is answered by executeOne's promise itself, no async frame here;
  // a throw from its checks (a stack overflow on a deep value) still arrives as a rejection.
  try {
    return executeOne(value, dispatch, meta);
  } catch (err) {
    return Promise.reject(err);
  }
}

async function executeBatch(
  batch: unknown[],
  dispatch: Dispatch,
  meta: RpcMeta,
): Promise<RpcResponse | RpcResponse[] | undefined> {
  const refused = batchRefusal(batch, meta.maxBatch);
  if (refused !== undefined) return refused;
  const answers = await Promise.all(batch.map((member) => executeOne(member, dispatch, meta)));
  const responses = answers.filter((a): a is RpcResponse => a !== undefined);
  return responses.length === 0 ? undefined : responses;
}

/** The answer to a batch refused whole (empty, or more than `max` members), or undefined: run it. */
export function batchRefusal(batch: readonly unknown[], max = MAX_BATCH): RpcResponse | undefined {
  if (batch.length === 0) return rpcError(null, RpcCode.InvalidRequest, "invalid request: empty batch");
  if (batch.length > max)
    return rpcError(
      null,
      RpcCode.InvalidRequest,
      `invalid request: a batch of ${batch.length} calls; at most ${max} per batch`,
    );
  return undefined;
}

/** One JSON-RPC member after its checks: an answer of its own (undefined for a notification), or a call to run. */
export type CheckedRequest =
  | { kind: "answer"; response: RpcResponse | undefined }
  | { kind: "call"; id: RpcId | undefined; call: ToolExecuteParams };

/** Checks one member: a well-formed request of `tool.execute` with valid params, else its error answer. */
export function checkRequest(value: unknown): CheckedRequest {
  // The common, well-formed request takes a hand-checked fast path equivalent to the schema; anything
  // else goes through zod, which produces the precise issues.
  let request = wellFormedRequest(value);
  if (request === undefined) {
    const parsedRequest = RpcRequest.safeParse(value);
    if (!parsedRequest.success) {
      const response = rpcError(idOf(value), RpcCode.InvalidRequest, "invalid request", {
        issues: zodIssues(parsedRequest.error),
      });
      return { kind: "answer", response };
    }
    request = parsedRequest.data;
  }
  const { id, method, params } = request;
  if (method !== TOOL_EXECUTE) {
    return answerOf(id, rpcError(id ?? null, RpcCode.MethodNotFound, `method not found: ${method}`));
  }
  const parsed = wellFormedParams(params) ?? ToolExecuteParams.safeParse(params);
  if (!parsed.success) {
    return answerOf(
      id,
      rpcError(id ?? null, RpcCode.InvalidParams, "invalid params for tool.execute", {
        issues: zodIssues(parsed.error),
      }),
    );
  }
  return { kind: "call", id, call: parsed.data };
}

/** A member's own answer; a notification (no id) is answered nothing. */
function answerOf(id: RpcId | undefined, response: RpcResponse): CheckedRequest {
  return { kind: "answer", response: id === undefined ? undefined : response };
}

/** The ids of a call: the transport's, else the JSON-RPC id (a non-empty string) or a fresh one. */
export function callIdsOf(id: RpcId | undefined, meta: CallIds): Required<CallIds> {
  const requestId = meta.requestId ?? (typeof id === "string" && id.length > 0 ? id : randomUUID());
  return { requestId, correlationId: meta.correlationId ?? requestId };
}

function executeOne(value: unknown, dispatch: Dispatch, meta: RpcMeta): Promise<RpcResponse | undefined> {
  const checked = checkRequest(value);
  if (checked.kind === "answer") return Promise.resolve(checked.response);
  const response = runCall(checked.call, checked.id ?? null, dispatch, meta);
  // A notification runs and is answered nothing.
  return checked.id === undefined ? response.then(nothing) : response;
}

const nothing = (): undefined => undefined;

/** Runs one checked call through `dispatch` and answers its response (a failure inside it, logged). */
export async function runCall(
  call: ToolExecuteParams,
  id: RpcId,
  dispatch: Dispatch,
  meta: RpcMeta,
): Promise<RpcResponse> {
  const { requestId, correlationId } = callIdsOf(id, meta);
  const ctx = new CallContext(requestId, correlationId, meta, call);
  try {
    return rpcResult(id, await dispatch(call, ctx));
  } catch (err) {
    return { jsonrpc: "2.0", id, error: logFailure(err, () => ctx.logger) };
  }
}

/**
 * A call's ToolContext. The per-call child logger is built only when a handler (or an error) logs:
 * most calls never do. A class, so the lazy getter is the prototype's, not a closure and accessor
 * made for every call as an object literal's would be.
 */
class CallContext implements ToolContext {
  #logger: Logger | undefined;
  readonly transport: ToolContext["transport"];
  constructor(
    readonly requestId: string,
    readonly correlationId: string,
    private readonly meta: RpcMeta,
    private readonly call: ToolExecuteParams,
  ) {
    this.transport = meta.transport;
  }
  get logger(): Logger {
    this.#logger ??= callLogger(this.meta.logger, {
      requestId: this.requestId,
      correlationId: this.correlationId,
      agent: this.call.agent,
      tool: this.call.tool,
    });
    return this.#logger;
  }
}

/** The JSON-RPC error of a failed call; internal and upstream failures are logged. */
export function logFailure(err: unknown, logger: () => Logger): RpcErrorObject {
  const error = toRpcError(err);
  if (error.code === RpcCode.InternalError) logger().error({ err }, "tool call failed");
  else if (error.code === RpcCode.Upstream)
    logger().warn({ err, data: error.data }, "tool call failed upstream");
  return error;
}

function idOf(value: unknown): RpcId {
  if (typeof value === "object" && value !== null && "id" in value) {
    const id = (value as { id: unknown }).id;
    if (typeof id === "string" || typeof id === "number") return id;
  }
  return null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `RpcRequest` for the common case (object params, string/number id), without zod's allocation. */
function wellFormedRequest(value: unknown): RpcRequest | undefined {
  if (!isRecord(value)) return undefined;
  const { jsonrpc, id, method, params } = value;
  if (jsonrpc !== undefined && jsonrpc !== "2.0") return undefined;
  if (id !== undefined && typeof id !== "string" && typeof id !== "number") return undefined;
  if (typeof method !== "string" || method.length === 0) return undefined;
  if (params !== undefined && !isRecord(params)) return undefined;
  for (const key in value) {
    if (key !== "jsonrpc" && key !== "id" && key !== "method" && key !== "params") return undefined;
  }
  const request: RpcRequest = { method };
  if (jsonrpc !== undefined) request.jsonrpc = "2.0";
  if (id !== undefined) request.id = id;
  if (params !== undefined) request.params = params;
  return request;
}

/** `ToolExecuteParams` for the common case; undefined sends the value through zod for its issues. */
function wellFormedParams(params: unknown): { success: true; data: ToolExecuteParams } | undefined {
  if (!isRecord(params)) return undefined;
  const { agent, tool, args } = params;
  if (typeof agent !== "string" || agent.length === 0 || typeof tool !== "string" || tool.length === 0)
    return undefined;
  return { success: true, data: { agent, tool, args: args === undefined ? {} : args } };
}
