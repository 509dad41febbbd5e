import { RpcCode, type RpcId, type RpcResponse } from "../protocol/jsonrpc.ts";
import { assertDepth } from "./json-depth.ts";
import {
  type Dispatch,
  type RpcMeta,
  batchRefusal,
  callIdsOf,
  checkRequest,
  logFailure,
  runCall,
} from "./execute.ts";

/** One call a relay forwards: the tool, the JSON-RPC id and the ids the agent must see. */
export interface RelayedCall {
  tool: string;
  id: RpcId | undefined;
  /** Sent only when the agent cannot derive it from the JSON-RPC id (a non-empty string). */
  requestId?: string;
  /** Sent only when it differs from the request id. */
  correlationId?: string;
}

/**
 * Where a JSON-RPC call goes when the agent it names runs elsewhere: its bytes are forwarded as they
 * are and the agent's reply bytes come back, neither parsed again here.
 */
export interface RpcRelay {
  /**
   * The agent that serves `nameOrAlias`, resolved once per call: undefined when it runs here (the
   * dispatch), else the agent's name for {@link RpcRelay.forward}. Throws a ToolError for an unknown
   * agent.
   */
  target(nameOrAlias: string): string | undefined;
  /**
   * Sends one call's JSON-RPC payload (its text, or its UTF-8 bytes as received) to `agent` and
   * answers its reply bytes; failures are ToolErrors.
   */
  forward(agent: string, payload: string | Uint8Array, call: RelayedCall): Promise<Uint8Array>;
}

/** A relayed answer: JSON text of our own or the agent's reply bytes; undefined: nothing to answer. */
export type RelayAnswer = string | Uint8Array | undefined;

const encoder = new TextEncoder();

/**
 * Executes a parsed JSON-RPC payload like {@link executeRpc}, except that a call for an agent the
 * relay reaches is forwarded: `raw` (the payload as received, its text or its bytes; a batch member
 * is serialised once) goes to the agent, whose reply bytes are the answer. Checks, error answers, batch cap and ids are the
 * executor's. A batch answer is the members' answers joined into one array, in request order.
 */
export function relayRpc(
  payload: unknown,
  raw: string | Uint8Array,
  dispatch: Dispatch,
  relay: RpcRelay,
  meta: RpcMeta,
): Promise<RelayAnswer> {
  // One call (the common case) is answered by relayOne's promise itself, not wrapped in another.
  return Array.isArray(payload)
    ? relayBatch(payload, dispatch, relay, meta)
    : relayOne(payload, raw, dispatch, relay, meta);
}

async function relayBatch(
  payload: unknown[],
  dispatch: Dispatch,
  relay: RpcRelay,
  meta: RpcMeta,
): Promise<RelayAnswer> {
  const refused = batchRefusal(payload, meta.maxBatch);
  if (refused !== undefined) return JSON.stringify(refused);
  const answers = await Promise.all(
    payload.map((member) => relayOne(member, undefined, dispatch, relay, meta)),
  );
  const parts: Uint8Array[] = [];
  for (const a of answers) {
    if (a === undefined) continue;
    parts.push(parts.length === 0 ? OPEN : COMMA, typeof a === "string" ? encoder.encode(a) : a);
  }
  if (parts.length === 0) return undefined;
  parts.push(CLOSE);
  return Buffer.concat(parts);
}

const OPEN = encoder.encode("[");
const COMMA = encoder.encode(",");
const CLOSE = encoder.encode("]");

async function relayOne(
  value: unknown,
  raw: string | Uint8Array | undefined,
  dispatch: Dispatch,
  relay: RpcRelay,
  meta: RpcMeta,
): Promise<RelayAnswer> {
  const checked = checkRequest(value);
  if (checked.kind === "answer")
    return checked.response === undefined ? undefined : JSON.stringify(checked.response);
  const { id, call } = checked;
  try {
    const agent = relay.target(call.agent);
    if (agent === undefined) return textOf(id, await runCall(call, id ?? null, dispatch, meta));
    // A member is serialised here: refuse what would overflow the serialiser's stack first.
    if (raw === undefined) assertDepth(call.args, `${agent}.${call.tool}`);
    const reply = await relay.forward(agent, raw ?? JSON.stringify(value), relayed(id, call.tool, meta));
    // A notification's reply is empty: the agent ran it and answers nothing.
    return id === undefined ? undefined : reply;
  } catch (err) {
    return textOf(id, { jsonrpc: "2.0", id: id ?? null, error: logFailure(err, () => meta.logger) });
  }
}

/** A response of our own as JSON text; a notification (no id) is answered nothing. */
function textOf(id: RpcId | undefined, response: RpcResponse): RelayAnswer {
  return id === undefined ? undefined : JSON.stringify(response);
}

/** The ids the agent must be told: what it would not derive on its own from the JSON-RPC id. */
function relayed(id: RpcId | undefined, tool: string, meta: RpcMeta): RelayedCall {
  const ids = callIdsOf(id, meta);
  const call: RelayedCall = { tool, id };
  if (ids.requestId !== id) call.requestId = ids.requestId;
  if (ids.correlationId !== ids.requestId) call.correlationId = ids.correlationId;
  return call;
}

/**
 * The error code of an agent's reply, or undefined for a result (or the empty reply to a
 * notification). A result is recognised by the fixed prefix the agent's serialiser writes
 * (`{"jsonrpc":"2.0","id":<id>,"result":`) without parsing the reply; anything else is read.
 */
export function replyErrorCode(reply: Uint8Array, id: RpcId | undefined): number | undefined {
  if (reply.length === 0) return undefined;
  const head = `{"jsonrpc":"2.0","id":${JSON.stringify(id ?? null)},"result":`;
  let same = reply.length > head.length;
  for (let i = 0; same && i < head.length; i++) same = reply[i] === head.charCodeAt(i);
  if (same) return undefined;
  try {
    const value = JSON.parse(Buffer.from(reply.buffer, reply.byteOffset, reply.length).toString("utf8")) as {
      error?: { code?: unknown };
    };
    if (value.error === undefined) return undefined;
    return typeof value.error.code === "number" ? value.error.code : RpcCode.InternalError;
  } catch {
    return RpcCode.InternalError;
  }
}
