import { randomUUID } from "node:crypto";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import {
  type CallToolResult,
  CallToolRequestSchema,
  ErrorCode,
  isInitializeRequest,
  ListToolsRequestSchema,
  McpError,
  type Tool as McpTool,
} from "@modelcontextprotocol/sdk/types.js";
import type { Context, Hono } from "hono";
import { type ToolNature, toolNature } from "../../core/agents/manifest.ts";
import type { Config } from "../../core/config.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import { toRpcError } from "../../core/tools/errors.ts";
import { venueModes } from "../../core/venues.ts";
import { batchRefusal } from "../kit/http.ts";
import { type AgentTools, resolveAgent, type ToolDirectory } from "./directory.ts";
import {
  annotationsOf,
  type BudgetLimits,
  natureOrTrade,
  OrderBudget,
  orderIntent,
  unconfirmedRefusal,
} from "./mcp-safety.ts";

/** What the MCP server lets through (from the config: BOT4_MCP_*, EXCHANGE_*). */
export interface McpPolicy {
  /** Tool natures listed and callable. */
  toolsets: ReadonlySet<ToolNature>;
  /** Orders on a non-paper venue without the user's confirmation when the client cannot elicit. */
  allowUnconfirmedLive: boolean;
  budget: BudgetLimits;
  defaultVenue: string;
  /** Every venue orders may reach (paper first). */
  venues: readonly string[];
}

export function mcpPolicy(config: Config): McpPolicy {
  return {
    toolsets: new Set(config.BOT4_MCP_TOOLSETS),
    allowUnconfirmedLive: config.BOT4_MCP_ALLOW_UNCONFIRMED_LIVE,
    budget: {
      ordersPerMinute: config.BOT4_MCP_ORDERS_PER_MINUTE,
      notionalPerDay: config.BOT4_MCP_NOTIONAL_PER_DAY,
    },
    defaultVenue: config.EXCHANGE_DEFAULT_VENUE,
    venues: venueModes(config).map((v) => v.venue),
  };
}

/** Every tool, every venue, no budget: what tests of the plain routing want. */
export const OPEN_POLICY: McpPolicy = {
  toolsets: new Set<ToolNature>(["read", "write", "trade"]),
  allowUnconfirmedLive: true,
  budget: { ordersPerMinute: Number.MAX_SAFE_INTEGER, notionalPerDay: Number.POSITIVE_INFINITY },
  defaultVenue: "paper",
  venues: ["paper"],
};

/** MCP tool names are `<agent>__<tool>`: agent names have no underscore, tool names are snake_case. */
export const SEPARATOR = "__";
export const mcpToolName = (agent: string, tool: string) => `${agent}${SEPARATOR}${tool}`;

export function parseMcpToolName(name: string): { agent: string; tool: string } | undefined {
  const at = name.indexOf(SEPARATOR);
  if (at <= 0 || at + SEPARATOR.length >= name.length) return undefined;
  return { agent: name.slice(0, at), tool: name.slice(at + SEPARATOR.length) };
}

/** The `$schema` dialect marker zod writes is dropped: MCP clients validate with their own dialect. */
function schemaFor(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}

/** The MCP listing: every available agent's tools, named `<agent>__<tool>`, with their JSON Schemas. */
export function mcpTools(
  listing: readonly AgentTools[],
  toolsets: ReadonlySet<ToolNature> = OPEN_POLICY.toolsets,
): McpTool[] {
  const tools: McpTool[] = [];
  for (const agent of listing) {
    for (const t of agent.tools) {
      const nature = toolNature(agent.agent, t.name);
      if (!toolsets.has(natureOrTrade(nature))) continue;
      const input = schemaFor(t.inputSchema);
      const output = schemaFor(t.outputSchema);
      tools.push({
        name: mcpToolName(agent.agent, t.name),
        title: `${agent.title}: ${t.name}`,
        description: `[${agent.agent}] ${t.description}`,
        inputSchema: { ...input, type: "object" },
        annotations: { title: `${agent.title}: ${t.name}`, ...annotationsOf(nature) },
        // MCP output schemas must describe an object; other results travel as text only.
        ...(output.type === "object" ? { outputSchema: { ...output, type: "object" as const } } : {}),
      });
    }
  }
  return tools;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const textError = (text: string): CallToolResult => ({ isError: true, content: [{ type: "text", text }] });

/**
 * A refusal of this MCP server (toolsets, order safety), written like a tool's own error:
 * `error -32003: <message>` and, when there is one, `data` as JSON on the next line.
 */
const refusal = (message: string, data?: { cause: string }): CallToolResult =>
  textError(`error ${RpcCode.Rejected}: ${message}${data === undefined ? "" : `\n${JSON.stringify(data)}`}`);

/**
 * An MCP server over a tool directory (one per MCP session). `tools/list` lists every available
 * agent's tools that the policy's toolsets allow, with annotations from the manifest; `tools/call`
 * runs one through the directory. A tool's own failure (invalid args, refusal, absent agent, timeout)
 * is an `isError` result whose text names the agent and carries the issues, so a model can correct
 * itself; a name that designates no agent is a protocol error. Orders go through the session's budget,
 * and an order on a non-paper venue is confirmed by the user through elicitation first (refused when
 * the client cannot elicit, unless the policy allows it).
 */
export function createMcpServer(
  directory: ToolDirectory,
  logger: Logger,
  version: string,
  policy: McpPolicy = OPEN_POLICY,
): Server {
  const budget = new OrderBudget(policy.budget);
  const server = new Server(
    { name: "bot4", title: "Bot4 coordinator", version },
    {
      capabilities: { tools: {} },
      instructions:
        "Bot4's trading agents as tools, named <agent>__<tool>. Risk sizing (risk__*), inference (inference__*), " +
        "exchange access (exchange__*), and the event-driven functions. Results are JSON. Orders on a venue " +
        "other than paper ask the user to confirm; each session has an order budget.",
    },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: mcpTools(await directory.list(), policy.toolsets),
  }));

  /** The order's notional: amount × its limit price, else × the venue's last price. */
  const notionalOf = async (venue: string, symbol: string | undefined, amount: number, price?: number) => {
    if (price !== undefined) return amount * price;
    if (symbol === undefined) return 0;
    const ticker = (await directory.call("exchange", "get_ticker", { venue, symbol })) as { last?: unknown };
    const last = typeof ticker?.last === "number" && Number.isFinite(ticker.last) ? ticker.last : undefined;
    if (last === undefined) throw new Error(`no last price for ${symbol} on ${venue}`);
    return amount * last;
  };

  /**
   * The order's notional for the budget; "unpriceable" when the exchange refuses the arguments
   * themselves (a blank symbol): the tool then refuses them naming the field, and the budget never
   * counts an order the exchange refuses. Any other failure to value it is a refusal.
   */
  const valueOrder = async (
    intent: NonNullable<ReturnType<typeof orderIntent>>,
  ): Promise<number | "unpriceable" | CallToolResult> => {
    try {
      return await notionalOf(
        intent.venues[0] ?? policy.defaultVenue,
        intent.symbol,
        intent.amount,
        intent.price,
      );
    } catch (err) {
      const error = toRpcError(err);
      if (error.code === RpcCode.InvalidParams) return "unpriceable";
      return refusal(
        `order refused: its notional could not be valued for the session budget (${error.message})`,
      );
    }
  };

  /** Undefined when the order may go ahead; otherwise the refusal to answer with. */
  const guardOrder = async (
    agent: string,
    tool: string,
    args: unknown,
  ): Promise<CallToolResult | undefined> => {
    const intent = orderIntent(agent, tool, args, policy);
    if (intent === undefined) return undefined;
    const valued = await valueOrder(intent);
    if (valued === "unpriceable") return undefined;
    if (typeof valued !== "number") return valued;
    const notional = valued;
    const over = budget.refusal(notional);
    if (over !== undefined) return refusal(`order refused: ${over}`, { cause: "mcp_order_budget" });
    const nonPaper = intent.venues.filter((v) => v !== "paper");
    if (nonPaper.length > 0) {
      if (server.getClientCapabilities()?.elicitation !== undefined) {
        const answer = await server.elicitInput({
          mode: "form",
          message: `Place a ${tool === "route_order" ? "routed order" : "order"} on ${nonPaper.join(", ")} (not paper): ${JSON.stringify(args)}? Notional ≈ ${Math.round(notional * 100) / 100}.`,
          requestedSchema: {
            type: "object",
            properties: {
              confirm: {
                type: "boolean",
                title: "Place this order",
                description: `The order goes to ${nonPaper.join(", ")}, which may trade real money.`,
              },
            },
            required: ["confirm"],
          },
        });
        if (answer.action !== "accept" || answer.content?.confirm !== true)
          return refusal(`order not placed: the user did not confirm it (${answer.action})`);
      } else if (!policy.allowUnconfirmedLive) {
        return refusal(unconfirmedRefusal(nonPaper));
      }
    }
    budget.record(notional);
    return undefined;
  };

  server.setRequestHandler(CallToolRequestSchema, async (request): Promise<CallToolResult> => {
    const target = parseMcpToolName(request.params.name);
    if (target === undefined) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `unknown tool "${request.params.name}" (names are <agent>__<tool>)`,
      );
    }
    let agent: string;
    try {
      agent = resolveAgent(target.agent).name;
    } catch (err) {
      throw new McpError(ErrorCode.InvalidParams, toRpcError(err).message);
    }
    const nature = natureOrTrade(toolNature(agent, target.tool));
    if (!policy.toolsets.has(nature))
      return refusal(
        `tool ${request.params.name} (${nature}) is not served here: this server exposes ${[...policy.toolsets].join(", ")} tools only (BOT4_MCP_TOOLSETS)`,
      );
    const args = request.params.arguments ?? {};
    try {
      const refused = await guardOrder(agent, target.tool, args);
      if (refused !== undefined) return refused;
      const result = await directory.call(target.agent, target.tool, args);
      return {
        content: [{ type: "text", text: JSON.stringify(result) }],
        ...(isRecord(result) ? { structuredContent: result } : {}),
      };
    } catch (err) {
      const error = toRpcError(err);
      if (error.code === RpcCode.InternalError)
        logger.error({ err, tool: request.params.name }, "MCP call failed");
      const data = error.data === undefined ? "" : `\n${JSON.stringify(error.data)}`;
      return textError(`error ${error.code}: ${error.message}${data}`);
    }
  });
  return server;
}

interface Session {
  server: Server;
  transport: WebStandardStreamableHTTPServerTransport;
  lastUsed: number;
  /** The id of the HTTP request being answered: the correlation id of the calls it makes. */
  correlationId?: string;
}

export interface McpMountOptions {
  policy: McpPolicy;
  /** Most live sessions; beyond, the least recently used one is closed. */
  maxSessions: number;
  /** A session unused this long is closed. */
  idleMs?: number;
  /** Most members of a JSON-RPC batch in one POST. */
  batchMax: number;
}

const rpcFailure = (c: Context, status: 400 | 404, message: string) =>
  c.json({ jsonrpc: "2.0", id: null, error: { code: -32000, message } }, status);

/**
 * Mounts MCP Streamable HTTP at `/mcp` with sessions: an `initialize` POST opens one (a server with
 * its own order budget, `Mcp-Session-Id` in the answer); later requests carry the id; GET opens the
 * session's server-sent stream (elicitation requests travel on the call's own SSE answer); DELETE ends
 * it. Sessions live in this process: behind a balancer, route by `Mcp-Session-Id` (sticky).
 */
export function mountMcp(
  app: Hono,
  directory: ToolDirectory,
  logger: Logger,
  version: string,
  options: McpMountOptions = { policy: OPEN_POLICY, maxSessions: 100, batchMax: 100 },
): { sessions: () => number; close: () => Promise<void> } {
  const sessions = new Map<string, Session>();
  const idleMs = options.idleMs ?? 30 * 60_000;
  const closeSession = async (id: string) => {
    const s = sessions.get(id);
    if (s === undefined) return;
    sessions.delete(id);
    await s.transport.close().catch(() => undefined);
    await s.server.close().catch(() => undefined);
  };
  const sweep = () => {
    const now = Date.now();
    for (const [id, s] of sessions) if (now - s.lastUsed > idleMs) void closeSession(id);
    while (sessions.size >= options.maxSessions) {
      let oldest: string | undefined;
      let at = Number.POSITIVE_INFINITY;
      for (const [id, s] of sessions)
        if (s.lastUsed < at) {
          at = s.lastUsed;
          oldest = id;
        }
      if (oldest === undefined) break;
      logger.warn(
        { sessionId: oldest, max: options.maxSessions },
        "MCP session limit reached; closing the least recently used",
      );
      void closeSession(oldest);
    }
  };
  const timer = setInterval(sweep, Math.min(idleMs, 60_000));
  timer.unref();

  app.post("/mcp", async (c) => {
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      return c.json(
        {
          jsonrpc: "2.0",
          id: null,
          error: { code: -32700, message: "parse error: the body is not valid JSON" },
        },
        400,
      );
    }
    const refused = batchRefusal(c, body, options.batchMax);
    if (refused !== undefined) return refused;
    const sessionId = c.req.header("mcp-session-id");
    let session = sessionId === undefined ? undefined : sessions.get(sessionId);
    if (session === undefined) {
      if (sessionId !== undefined)
        return rpcFailure(c, 404, `unknown or expired MCP session ${sessionId}: initialize again`);
      const initializing = Array.isArray(body) ? body.some(isInitializeRequest) : isInitializeRequest(body);
      if (!initializing) return rpcFailure(c, 400, "no Mcp-Session-Id: send initialize first");
      sweep();
      // Calls made while a session's requests are answered carry the HTTP request id as correlation id.
      let fresh: Session | undefined;
      const scoped: ToolDirectory = {
        list: () => directory.list(),
        call: (agent, tool, args, meta) => {
          const correlationId = fresh?.correlationId;
          return directory.call(agent, tool, args, {
            ...(correlationId === undefined ? {} : { correlationId }),
            ...meta,
          });
        },
      };
      const server = createMcpServer(scoped, logger, version, options.policy);
      const transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          if (fresh !== undefined) sessions.set(id, fresh);
        },
        onsessionclosed: (id) => {
          void closeSession(id);
        },
      });
      fresh = { server, transport, lastUsed: Date.now() };
      await server.connect(transport);
      session = fresh;
    }
    session.lastUsed = Date.now();
    session.correlationId = c.get("requestId");
    return session.transport.handleRequest(c.req.raw, { parsedBody: body });
  });
  app.on(["GET", "DELETE"], "/mcp", async (c) => {
    const sessionId = c.req.header("mcp-session-id");
    const session = sessionId === undefined ? undefined : sessions.get(sessionId);
    if (session === undefined)
      return sessionId === undefined
        ? rpcFailure(c, 400, "no Mcp-Session-Id header")
        : rpcFailure(c, 404, `unknown or expired MCP session ${sessionId}`);
    session.lastUsed = Date.now();
    return session.transport.handleRequest(c.req.raw);
  });
  return {
    sessions: () => sessions.size,
    async close() {
      clearInterval(timer);
      await Promise.all([...sessions.keys()].map(closeSession));
    },
  };
}
