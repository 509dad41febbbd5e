import { z } from "zod";

/** JSON-RPC 2.0 error codes, and Bot4's server-defined ones in the -32000..-32099 range. */
export const RpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** The owning agent did not answer in time. */
  Timeout: -32001,
  /** No instance of the owning agent is running. */
  AgentUnavailable: -32002,
  /** The tool ran and refused the request on domain grounds (limits, state, venue rejection). */
  Rejected: -32003,
  /** A dependency outside Bot4 (the network, an exchange) failed; `data.cause` and `data.code` say which. */
  Upstream: -32004,
} as const;
export type RpcCode = (typeof RpcCode)[keyof typeof RpcCode];

export const RpcId = z.union([z.string(), z.number(), z.null()]);
export type RpcId = z.infer<typeof RpcId>;

/**
 * A request or notification. `jsonrpc` may be absent: the seed's clients omit it, and we accept their
 * requests verbatim. A member without `id` is a notification and gets no response.
 */
export const RpcRequest = z.object({
  jsonrpc: z.literal("2.0").optional(),
  id: RpcId.optional(),
  method: z.string().min(1),
  params: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
});
export type RpcRequest = z.infer<typeof RpcRequest>;

export const RpcErrorObject = z.object({
  code: z.number().int(),
  message: z.string(),
  data: z.unknown().optional(),
});
export type RpcErrorObject = z.infer<typeof RpcErrorObject>;

export const RpcSuccess = z.object({ jsonrpc: z.literal("2.0"), id: RpcId, result: z.unknown() });
export const RpcFailure = z.object({ jsonrpc: z.literal("2.0"), id: RpcId, error: RpcErrorObject });
export const RpcResponse = z.union([RpcSuccess, RpcFailure]);
export type RpcSuccess = z.infer<typeof RpcSuccess>;
export type RpcFailure = z.infer<typeof RpcFailure>;
export type RpcResponse = z.infer<typeof RpcResponse>;

/**
 * A JSON-RPC response as `RpcResponse` reads it. The common reply of a Bot4 agent (`jsonrpc`, `id`,
 * then `result`, or an `error` with an integer code and a message) is checked by hand; anything else
 * goes through the schema (which throws on what is not a response).
 */
export function responseOf(value: unknown): RpcResponse {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    const id = v.id;
    const idOk = id === null || typeof id === "string" || typeof id === "number";
    if (v.jsonrpc === "2.0" && idOk && Object.keys(v).length === 3) {
      if ("result" in v) return v as RpcSuccess;
      const e = v.error as Record<string, unknown> | undefined;
      if (typeof e === "object" && e !== null && Number.isInteger(e.code) && typeof e.message === "string")
        return v as RpcFailure;
    }
  }
  return RpcResponse.parse(value);
}

/** `params` of the one method Bot4 serves, `tool.execute`. */
export const ToolExecuteParams = z.object({
  agent: z.string().min(1),
  tool: z.string().min(1),
  args: z.unknown().default({}),
});
export type ToolExecuteParams = z.infer<typeof ToolExecuteParams>;
export const TOOL_EXECUTE = "tool.execute";

export function rpcResult(id: RpcId, result: unknown): RpcSuccess {
  return { jsonrpc: "2.0", id, result };
}

export function rpcError(id: RpcId, code: number, message: string, data?: unknown): RpcFailure {
  const error: RpcErrorObject = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: "2.0", id, error };
}
