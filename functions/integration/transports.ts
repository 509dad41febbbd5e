import type { Bus } from "../../adapters/nats/bus.ts";
import { forwardRpc } from "../../adapters/nats/tool-transport.ts";
import { rateLimitWaitMs } from "../../core/protocol/retry-after.ts";

/**
 * The four ways a tool is reached — the agent's own HTTP (`POST /tools/:tool`), JSON-RPC through the
 * coordinator (`POST /rpc`), NATS request/reply (`tools.<agent>`) and MCP through the coordinator
 * (`POST /mcp`, `tools/call`) — each reduced to one {@link Outcome}. Arguments travel as JSON text
 * built by the generator, so a deeply nested case is never serialised (or recursed) here.
 */

export type Transport = "http" | "rpc" | "nats" | "mcp";
export const TRANSPORTS: readonly Transport[] = ["http", "rpc", "nats", "mcp"];

export interface Issue {
  path: string;
  message: string;
  code?: string;
}

export type Outcome =
  | { kind: "result"; transport: Transport; value: unknown }
  /** A refusal or an error the tool (or its transport) answered with: a JSON-RPC code and its issues. */
  | {
      kind: "error";
      transport: Transport;
      code: number;
      message: string;
      issues: Issue[];
      status?: number;
      /** `data.cause`, when the error names one (e.g. `mcp_order_budget`). */
      cause?: string;
    }
  /** No protocol answer at all: a connection failure, a timeout of our own, a body that is not JSON. */
  | { kind: "broken"; transport: Transport; message: string; status?: number };

export interface Endpoints {
  bus: Bus;
  /** The coordinator's base URL (JSON-RPC and MCP). */
  coordinatorUrl: string | undefined;
  /** Bearer key for HTTP, when the services have BOT4_API_KEYS. */
  apiKey: string | undefined;
  timeoutMs: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function issuesOf(data: unknown): Issue[] {
  const issues = isRecord(data) ? data.issues : undefined;
  if (!Array.isArray(issues)) return [];
  return issues.filter(isRecord).map((i) => ({
    path: String(i.path ?? ""),
    message: String(i.message ?? ""),
    ...(typeof i.code === "string" ? { code: i.code } : {}),
  }));
}

/** A JSON-RPC response object (or anything else) as an outcome. */
function fromRpc(transport: Transport, body: unknown, status?: number): Outcome {
  if (isRecord(body) && "result" in body) return { kind: "result", transport, value: body.result };
  if (isRecord(body) && isRecord(body.error) && typeof body.error.code === "number") {
    return {
      kind: "error",
      transport,
      code: body.error.code,
      message: String(body.error.message ?? ""),
      issues: issuesOf(body.error.data),
      ...(status !== undefined ? { status } : {}),
    };
  }
  return {
    kind: "broken",
    transport,
    message: `not a JSON-RPC response: ${preview(body)}`,
    ...(status !== undefined ? { status } : {}),
  };
}

const preview = (v: unknown) => {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return (s ?? String(v)).slice(0, 200);
};

const MCP_ACCEPT = "application/json, text/event-stream";

/** One MCP session per validation's endpoints: the coordinator's /mcp answers calls only within a session. */
const mcpSessions = new WeakMap<Endpoints, Promise<string | { error: string }>>();

function mcpSession(e: Endpoints, coordinatorUrl: string): Promise<string | { error: string }> {
  let session = mcpSessions.get(e);
  if (session === undefined) {
    session = openMcpSession(e, coordinatorUrl);
    mcpSessions.set(e, session);
  }
  return session;
}

/** `initialize` (the answer names the session in Mcp-Session-Id), then `notifications/initialized`. */
async function openMcpSession(e: Endpoints, coordinatorUrl: string): Promise<string | { error: string }> {
  const headers: Record<string, string> = { "content-type": "application/json", accept: MCP_ACCEPT };
  if (e.apiKey !== undefined) headers.authorization = `Bearer ${e.apiKey}`;
  try {
    const res = await fetch(`${coordinatorUrl}/mcp`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 0,
        method: "initialize",
        params: {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "bot4-integration-validator", version: "1" },
        },
      }),
      signal: AbortSignal.timeout(e.timeoutMs),
    });
    const text = await res.text();
    const id = res.headers.get("mcp-session-id");
    if (!res.ok || id === null)
      return { error: `MCP initialize: HTTP ${res.status} without a session: ${text.slice(0, 200)}` };
    const done = await fetch(`${coordinatorUrl}/mcp`, {
      method: "POST",
      headers: { ...headers, "mcp-session-id": id },
      body: '{"jsonrpc":"2.0","method":"notifications/initialized"}',
      signal: AbortSignal.timeout(e.timeoutMs),
    });
    await done.arrayBuffer();
    return id;
  } catch (err) {
    return { error: `MCP initialize: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}` };
  }
}

async function post(
  url: string,
  body: string,
  e: Endpoints,
  extra: Record<string, string> = {},
): Promise<{ status: number; body: unknown } | { error: string }> {
  const headers: Record<string, string> = { "content-type": "application/json", ...extra };
  if (e.apiKey !== undefined) headers.authorization = `Bearer ${e.apiKey}`;
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(e.timeoutMs) });
      // The timeout covers the body too: an MCP answer streams (SSE) until the tool has answered.
      text = await res.text();
    } catch (err) {
      return { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    }
    // The rate limiter is the service protecting itself, not the tool's answer: wait and retry.
    const wait = rateLimitWaitMs(res, attempt, 2_000);
    if (wait !== undefined) {
      await new Promise((r) => setTimeout(r, wait));
      continue;
    }
    return { status: res.status, body: bodyOf(res.headers.get("content-type"), text) };
  }
}

/** An answer's body: the JSON-RPC answer of an event stream, parsed JSON, or the text as it is. */
function bodyOf(contentType: string | null, text: string): unknown {
  if (/^text\/event-stream\b/i.test(contentType ?? "")) return sseAnswer(text);
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The JSON-RPC answer in a server-sent event stream (MCP Streamable HTTP answers a POST with one when
 * the server may send requests of its own first): the last event whose data is a response object, or
 * the stream's text when none is.
 */
export function sseAnswer(stream: string): unknown {
  let answer: unknown;
  for (const block of stream.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((line) => line.startsWith("data:"))
      .map((line) => line.slice(line.startsWith("data: ") ? 6 : 5))
      .join("\n");
    if (data.length === 0) continue;
    try {
      const message: unknown = JSON.parse(data);
      if (isRecord(message) && ("result" in message || "error" in message)) answer = message;
    } catch {
      // not JSON: not an answer
    }
  }
  return answer ?? stream;
}

let ids = 0;
const rpcPayload = (agent: string, tool: string, json: string) =>
  `{"jsonrpc":"2.0","id":"validate-${++ids}","method":"tool.execute","params":{"agent":${JSON.stringify(agent)},"tool":${JSON.stringify(tool)},"args":${json}}}`;

/** Calls one tool with `json` arguments over one transport. `url` is the agent's own base URL, if any. */
export async function callOver(
  transport: Transport,
  e: Endpoints,
  target: { agent: string; tool: string; url: string | undefined },
  json: string,
): Promise<Outcome> {
  const { agent, tool } = target;
  switch (transport) {
    case "http": {
      if (target.url === undefined)
        return { kind: "broken", transport, message: "the agent has no HTTP URL" };
      const r = await post(`${target.url}/tools/${tool}`, json, e);
      if ("error" in r) return { kind: "broken", transport, message: r.error };
      if (r.status === 200) return { kind: "result", transport, value: r.body };
      const outcome = fromRpc(transport, r.body, r.status);
      if (outcome.kind === "error" && r.status >= 500)
        return {
          kind: "broken",
          transport,
          message: `HTTP ${r.status}: ${outcome.message}`,
          status: r.status,
        };
      return outcome.kind === "broken"
        ? { ...outcome, message: `HTTP ${r.status}: ${outcome.message}` }
        : outcome;
    }
    case "rpc": {
      if (e.coordinatorUrl === undefined)
        return { kind: "broken", transport, message: "no coordinator is running" };
      const r = await post(`${e.coordinatorUrl}/rpc`, rpcPayload(agent, tool, json), e);
      if ("error" in r) return { kind: "broken", transport, message: r.error };
      return fromRpc(transport, r.body, r.status);
    }
    case "nats": {
      try {
        const text = await forwardRpc(e.bus, agent, rpcPayload(agent, tool, json), {
          timeout: e.timeoutMs,
          tool,
        });
        return fromRpc(transport, JSON.parse(text));
      } catch (err) {
        return { kind: "broken", transport, message: err instanceof Error ? err.message : String(err) };
      }
    }
    case "mcp": {
      if (e.coordinatorUrl === undefined)
        return { kind: "broken", transport, message: "no coordinator is running" };
      const session = await mcpSession(e, e.coordinatorUrl);
      if (typeof session !== "string") return { kind: "broken", transport, message: session.error };
      const body = `{"jsonrpc":"2.0","id":${++ids},"method":"tools/call","params":{"name":${JSON.stringify(`${agent}__${tool}`)},"arguments":${json}}}`;
      const r = await post(`${e.coordinatorUrl}/mcp`, body, e, {
        accept: MCP_ACCEPT,
        "mcp-session-id": session,
      });
      if ("error" in r) return { kind: "broken", transport, message: r.error };
      return fromMcp(r.body, r.status);
    }
  }
}

/** An MCP `tools/call` answer: structured content or the JSON text; `isError` text is `error <code>: <message>\n<data>`. */
function fromMcp(body: unknown, status: number): Outcome {
  const transport = "mcp" as const;
  if (isRecord(body) && isRecord(body.error)) return fromRpc(transport, body, status);
  const result = isRecord(body) ? body.result : undefined;
  if (!isRecord(result))
    return { kind: "broken", transport, message: `HTTP ${status}: ${preview(body)}`, status };
  const content = Array.isArray(result.content) ? result.content : [];
  const text =
    content.find((c): c is { type: "text"; text: string } => isRecord(c) && typeof c.text === "string")
      ?.text ?? "";
  if (result.isError === true) return fromMcpErrorText(text);
  if ("structuredContent" in result) return { kind: "result", transport, value: result.structuredContent };
  try {
    return { kind: "result", transport, value: JSON.parse(text) };
  } catch {
    return { kind: "broken", transport, message: `result text is not JSON: ${text.slice(0, 200)}` };
  }
}

/** An MCP `isError` text, `error <code>: <message>` with the error's data as JSON on the next line. */
function fromMcpErrorText(text: string): Outcome {
  const transport = "mcp" as const;
  const m = /^error (-?\d+): ([^\n]*)(?:\n([\s\S]*))?$/.exec(text);
  if (m === null)
    return { kind: "broken", transport, message: `isError without a code: ${text.slice(0, 200)}` };
  let data: unknown;
  try {
    data = m[3] === undefined ? undefined : JSON.parse(m[3]);
  } catch {
    data = undefined;
  }
  const cause = isRecord(data) && typeof data.cause === "string" ? { cause: data.cause } : {};
  return {
    kind: "error",
    transport,
    code: Number(m[1]),
    message: m[2] ?? "",
    issues: issuesOf(data),
    ...cause,
  };
}
