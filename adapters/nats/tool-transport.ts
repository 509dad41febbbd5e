import { randomUUID } from "node:crypto";
import {
  type Msg,
  type Subscription,
  headers as natsHeaders,
  errors as natsErrors,
} from "@nats-io/transport-node";
import { RpcCode, TOOL_EXECUTE, responseOf } from "../../core/protocol/jsonrpc.ts";
import { headers, queueGroup, subjects } from "../../core/subjects.ts";
import { ToolError } from "../../core/tools/errors.ts";
import { type Dispatch, type RpcMeta, canonicalAgent, executeRpc } from "../../core/tools/execute.ts";
import { assertDepth } from "../../core/tools/json-depth.ts";
import type { CallIds } from "../../core/tools/tool.ts";
import type { Bus } from "./bus.ts";

const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/**
 * Serves an agent's tools over NATS request/reply on `tools.<agent>` in the queue group `<agent>`,
 * so replicas share the calls. The payload is a JSON-RPC 2.0 request (or batch); the reply is the
 * JSON-RPC response. Request and correlation ids travel in headers when the caller's differ from
 * what is derived without them: the JSON-RPC id (a non-empty string) as request id, the request id
 * as correlation id.
 */
export function serveToolsOverNats(
  bus: Bus,
  agent: string,
  dispatch: Dispatch,
  observe?: (tool: string, outcome: "ok" | "error", seconds: number) => void,
): Subscription {
  return bus.serve(subjects.tools.of(agent), queueGroup(agent), async (msg) => {
    const started = performance.now();
    const meta: RpcMeta = { transport: "nats", logger: bus.logger };
    // Headers are decoded on first access, and only present when the caller sent ids (the coordinator).
    if (msg.headers !== undefined) {
      const requestId = msg.headers.get(headers.requestId);
      const correlationId = msg.headers.get(headers.correlationId);
      if (requestId !== "") meta.requestId = requestId;
      if (correlationId !== "") meta.correlationId = correlationId;
    }
    const text = decoder.decode(msg.data);
    const response = await executeRpc(text, dispatch, meta);
    // Encoded once: its length is checked on the bytes that are sent. Buffer.from takes a small
    // string's bytes from Node's pool (TextEncoder allocates an ArrayBuffer per call).
    const reply = response === undefined ? EMPTY : Buffer.from(JSON.stringify(response), "utf8");
    // A reply above the server's max_payload is dropped by NATS and the caller would only time out.
    const max = bus.nc.info?.max_payload ?? Number.POSITIVE_INFINITY;
    if (response !== undefined && !Array.isArray(response) && reply.length > max) {
      const id = response.id;
      msg.respond(
        JSON.stringify({
          jsonrpc: "2.0",
          id,
          error: {
            code: RpcCode.Rejected,
            message: `the answer (${reply.length} bytes) exceeds the bus's ${max}-byte message limit; narrow the request`,
          },
        }),
      );
    } else {
      msg.respond(reply);
    }
    if (observe !== undefined && response !== undefined && !Array.isArray(response)) {
      observe(toolOf(text), "error" in response ? "error" : "ok", (performance.now() - started) / 1000);
    }
  });
}

function toolOf(text: string): string {
  const m = /"tool"\s*:\s*"([a-z0-9_]+)"/.exec(text);
  return m?.[1] ?? "unknown";
}

export interface CallOptions extends CallIds {
  /** Milliseconds before the call fails with a Timeout error naming the agent. Default 5000. */
  timeout?: number;
}

/**
 * Calls one tool of one agent over NATS and returns its result. Failures are ToolErrors with the
 * JSON-RPC code: the tool's own error, Timeout (-32001) or AgentUnavailable (-32002), each naming the
 * agent.
 */
export function callTool(
  bus: Bus,
  agent: string,
  tool: string,
  args: unknown,
  options: CallOptions = {},
): Promise<unknown> {
  return callAgentTool(bus, canonicalAgent(agent), tool, args, options);
}

/** {@link callTool} for an agent already resolved to its manifest name (no second lookup). */
export async function callAgentTool(
  bus: Bus,
  name: string,
  tool: string,
  args: unknown,
  options: CallOptions = {},
): Promise<unknown> {
  // Refused here, before JSON.stringify recurses through it (a deep body overflowed its stack).
  assertDepth(args, `${name}.${tool}`);
  const timeout = options.timeout ?? 5_000;
  const requestId = options.requestId ?? randomUUID();
  // The JSON-RPC id is the request id; headers are only needed when the correlation id differs.
  let h: ReturnType<typeof natsHeaders> | undefined;
  if (options.correlationId !== undefined && options.correlationId !== requestId) {
    h = natsHeaders();
    h.set(headers.requestId, requestId);
    h.set(headers.correlationId, options.correlationId);
  }
  const request = {
    jsonrpc: "2.0",
    id: requestId,
    method: TOOL_EXECUTE,
    params: { agent: name, tool, args },
  };
  let reply: Uint8Array;
  try {
    reply = (await bus.request(subjects.tools.of(name), JSON.stringify(request), timeout, h)).data;
  } catch (err) {
    throw transportError(err, name, tool, timeout);
  }
  const response = responseOf(JSON.parse(decoder.decode(reply)));
  if ("error" in response)
    throw new ToolError(response.error.code, response.error.message, response.error.data);
  return response.result;
}

/** Forwards a raw JSON-RPC payload to an agent and returns the raw reply text. */
export async function forwardRpc(
  bus: Bus,
  agent: string,
  payload: string,
  options: CallOptions & { tool?: string } = {},
): Promise<string> {
  return decoder.decode(await forwardRpcBytes(bus, canonicalAgent(agent), payload, options));
}

/**
 * Forwards a raw JSON-RPC payload to an agent (by its manifest name) and returns the reply bytes as
 * they came. The ids travel in headers only when given (the agent otherwise reads the JSON-RPC id).
 */
export function forwardRpcBytes(
  bus: Bus,
  name: string,
  payload: string | Uint8Array,
  options: CallOptions & { tool?: string } = {},
): Promise<Uint8Array> {
  const timeout = options.timeout ?? 5_000;
  let h: ReturnType<typeof natsHeaders> | undefined;
  if (options.requestId !== undefined || options.correlationId !== undefined) {
    h = natsHeaders();
    if (options.requestId !== undefined) h.set(headers.requestId, options.requestId);
    if (options.correlationId !== undefined) h.set(headers.correlationId, options.correlationId);
  }
  // The request's promise with one `then`, no async frame of its own (the coordinator's hot path);
  // nats.js answers a refused request with a rejection, never a throw.
  return bus.request(subjects.tools.of(name), payload, timeout, h).then(dataOf, (err: unknown) => {
    throw transportError(err, name, options.tool ?? "?", timeout);
  });
}

const dataOf = (msg: Msg): Uint8Array => msg.data;

function transportError(err: unknown, agent: string, tool: string, timeout: number): unknown {
  const noResponders =
    err instanceof natsErrors.NoRespondersError ||
    (err instanceof natsErrors.RequestError && err.isNoResponders());
  if (noResponders) {
    return new ToolError(
      RpcCode.AgentUnavailable,
      `agent "${agent}" has no running instance (tool ${tool})`,
      { agent, tool },
    );
  }
  if (
    err instanceof natsErrors.TimeoutError ||
    (err instanceof Error && err.cause instanceof natsErrors.TimeoutError)
  ) {
    return new ToolError(RpcCode.Timeout, `agent "${agent}" did not answer ${tool} within ${timeout} ms`, {
      agent,
      tool,
      timeout,
    });
  }
  return err;
}
