import type { Context, Hono } from "hono";
import type {} from "hono/request-id";
import { z } from "zod";
import { RpcCode, type RpcErrorObject, rpcError } from "../../core/protocol/jsonrpc.ts";
import { headers } from "../../core/subjects.ts";
import { callLogger, type Logger } from "../../core/telemetry/log.ts";
import { httpStatusOf, toRpcError } from "../../core/tools/errors.ts";
import { type Dispatch, executeRpc, type RpcMeta } from "../../core/tools/execute.ts";
import { type RelayAnswer, type RpcRelay, relayRpc } from "../../core/tools/relay.ts";
import type { ToolContext } from "../../core/tools/tool.ts";

/** A correlation id a caller may pass in (`Bot4-Correlation-Id`); anything else is ignored, not trusted. */
const CorrelationId = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/);

/** The longest `X-Request-Id` a caller may pass (hono's `requestId` middleware as Bot4's HTTP faces use it). */
export const REQUEST_ID_MAX = 128;
const REQUEST_ID_REFUSED = /[^\w\-=]/;

/** Whether hono's `requestId` middleware (limited to {@link REQUEST_ID_MAX}) keeps `value` as the request id. */
export function isRequestId(value: string | undefined): value is string {
  return (
    value !== undefined &&
    value.length > 0 &&
    value.length <= REQUEST_ID_MAX &&
    !REQUEST_ID_REFUSED.test(value)
  );
}

/**
 * The request id of a `POST /rpc` call that brought no valid `X-Request-Id`: the JSON-RPC id of a
 * single call when it would pass as one. An agent the call is forwarded to derives its request id
 * from that id and its correlation id from the request id, so it derives the caller's ids from the
 * body and none has to travel in headers. Undefined (a fresh id is made) for a batch, a
 * notification, a number or any id {@link isRequestId} refuses.
 */
export function rpcRequestIdOf(payload: unknown): string | undefined {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return undefined;
  const id = (payload as { id?: unknown }).id;
  return typeof id === "string" && isRequestId(id) ? id : undefined;
}

/** The JSON body of an HTTP error: the JSON-RPC error object, so every transport reports alike. */
export const errorBody = (error: RpcErrorObject) => ({ error });

/** The caller's correlation id if it is a valid one, else the request id (hono's `requestId` middleware). */
export function correlationOf(c: Context): string {
  return correlationFrom(c.req.header(headers.correlationId), c.get("requestId"));
}

/** The correlation id of a request: its `Bot4-Correlation-Id` header if valid, else its request id. */
export function correlationFrom(header: string | undefined, requestId: string): string {
  // No header (the common case): no schema run, whose failure would build its issues for nothing.
  if (header === undefined) return requestId;
  const correlation = CorrelationId.safeParse(header);
  return correlation.success ? correlation.data : requestId;
}

/** The ToolContext of an HTTP call: the request id, the caller's correlation id if valid, a child logger. */
export function contextOf(
  c: Context,
  logger: Logger,
  transport: ToolContext["transport"],
  agent: string,
  tool: string,
  client?: string,
): ToolContext {
  const requestId = c.get("requestId");
  const correlationId = correlationOf(c);
  const fields = { requestId, correlationId, agent, tool, ...(client === undefined ? {} : { client }) };
  return { requestId, correlationId, transport, logger: callLogger(logger, fields) };
}

export interface ToolRoutesOptions {
  agent: string;
  dispatch: Dispatch;
  /** `POST /rpc` forwards calls for the agents it reaches as bytes and answers their reply bytes. */
  relay?: RpcRelay;
  logger: Logger;
  /** Names the caller in call logs (the kit's API key or address). */
  client?: (c: Context) => string;
  /** Most members of one JSON-RPC batch; default the executor's. */
  maxBatch?: number;
  /** Refuses a parsed `/rpc` payload before it runs (the kit's batch cap and rate limit); undefined: go ahead. */
  refuseRpc?: (c: Context, payload: unknown) => Response | undefined;
}

/**
 * The tool routes every Bot4 HTTP face serves alike (the kit's services, a function's Lambda):
 * `POST /tools/:tool` (body = the args; an error is the JSON-RPC error object with its HTTP status,
 * e.g. 400 and -32602 naming the field) and `POST /rpc` (JSON-RPC 2.0; errors inside the response).
 * Needs hono's `requestId` middleware in front (limited to {@link REQUEST_ID_MAX}); a `/rpc` call
 * without a valid `X-Request-Id` takes its request id from the JSON-RPC id ({@link rpcRequestIdOf}).
 */
export function mountToolRoutes(app: Hono, o: ToolRoutesOptions): void {
  const { agent, logger } = o;
  app.post("/tools/:tool", async (c) => {
    const tool = c.req.param("tool");
    const text = await c.req.text();
    let args: unknown = {};
    if (text.trim().length > 0) {
      try {
        args = JSON.parse(text);
      } catch {
        return c.json(
          errorBody({ code: RpcCode.ParseError, message: "parse error: the body is not valid JSON" }),
          400,
        );
      }
    }
    const ctx = contextOf(c, logger, "http", agent, tool, o.client?.(c));
    try {
      return c.json((await o.dispatch({ agent, tool, args }, ctx)) ?? null);
    } catch (err) {
      const error = toRpcError(err);
      if (error.code === RpcCode.InternalError) ctx.logger.error({ err }, "tool call failed");
      return c.json(errorBody(error), httpStatusOf(error.code));
    }
  });

  app.post("/rpc", async (c) => {
    const text = await c.req.text();
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      return c.json(rpcError(null, RpcCode.ParseError, "parse error: the body is not valid JSON"));
    }
    const refused = o.refuseRpc?.(c, payload);
    if (refused !== undefined) return refused;
    adoptRpcRequestId(c, payload);
    const answer = await answerRpc(payload, text, o, correlationOf(c));
    if (answer === undefined) return c.body(null, 204);
    // Bytes off the bus: a plain ArrayBuffer underneath, never a shared one.
    return c.body(answer as string | Uint8Array<ArrayBuffer>, 200, JSON_TYPE);
  });
}

/** Replaces the request id hono's middleware made up with the call's own ({@link rpcRequestIdOf}), if any. */
function adoptRpcRequestId(c: Context, payload: unknown): void {
  if (isRequestId(c.req.header(REQUEST_ID_HEADER))) return;
  const id = rpcRequestIdOf(payload);
  if (id === undefined) return;
  c.set("requestId", id);
  c.header(REQUEST_ID_HEADER, id);
}

const REQUEST_ID_HEADER = "X-Request-Id";
const JSON_TYPE = { "content-type": "application/json" } as const;

/** What `POST /rpc` runs a parsed payload with: the dispatch, the relay if any, the logger, the batch cap. */
export type RpcRoute = Pick<ToolRoutesOptions, "dispatch" | "relay" | "logger" | "maxBatch">;

/**
 * The answer of `POST /rpc` to a parsed payload (`raw` as received, its text or its UTF-8 bytes,
 * which a relay forwards as they are): JSON text or an agent's reply bytes (HTTP 200,
 * application/json), or undefined when nothing is answered (204). One place for the Hono route and
 * the kit's node:http fast path.
 */
export function answerRpc(
  payload: unknown,
  raw: string | Uint8Array,
  o: RpcRoute,
  correlationId: string,
): Promise<RelayAnswer> {
  const meta: RpcMeta = { transport: "rpc", logger: o.logger, correlationId };
  if (o.maxBatch !== undefined) meta.maxBatch = o.maxBatch;
  // The relay's promise is the answer itself (no further layer on the coordinator's path).
  if (o.relay !== undefined) return relayRpc(payload, raw, o.dispatch, o.relay, meta);
  return executeRpc(payload, o.dispatch, meta).then((response) =>
    response === undefined ? undefined : JSON.stringify(response),
  );
}
