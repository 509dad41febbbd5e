import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import {
  type CallToolResult,
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type Tool as McpTool,
} from "@modelcontextprotocol/sdk/types.js";
import type { Hono } from "hono";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import { toRpcError } from "../../core/tools/errors.ts";
import { type AgentTools, resolveAgent, type ToolDirectory } from "./directory.ts";

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
export function mcpTools(listing: readonly AgentTools[]): McpTool[] {
  const tools: McpTool[] = [];
  for (const agent of listing) {
    for (const t of agent.tools) {
      const input = schemaFor(t.inputSchema);
      const output = schemaFor(t.outputSchema);
      tools.push({
        name: mcpToolName(agent.agent, t.name),
        title: `${agent.title}: ${t.name}`,
        description: `[${agent.agent}] ${t.description}`,
        inputSchema: { ...input, type: "object" },
        // MCP output schemas must describe an object; other results travel as text only.
        ...(output.type === "object" ? { outputSchema: { ...output, type: "object" as const } } : {}),
      });
    }
  }
  return tools;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * An MCP server over a tool directory. `tools/list` lists every available agent's tools; `tools/call`
 * runs one through the directory. A tool's own failure (invalid args, refusal, absent agent, timeout)
 * is an `isError` result whose text names the agent and carries the issues, so a model can correct
 * itself; a name that designates no agent is a protocol error.
 */
export function createMcpServer(directory: ToolDirectory, logger: Logger, version: string): Server {
  const server = new Server(
    { name: "bot4", title: "Bot4 coordinator", version },
    {
      capabilities: { tools: {} },
      instructions:
        "Bot4's trading agents as tools, named <agent>__<tool>. Risk sizing (risk__*), inference (inference__*), " +
        "exchange access (exchange__*), and the event-driven functions. Results are JSON.",
    },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: mcpTools(await directory.list()),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request): Promise<CallToolResult> => {
    const target = parseMcpToolName(request.params.name);
    if (target === undefined) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `unknown tool "${request.params.name}" (names are <agent>__<tool>)`,
      );
    }
    try {
      resolveAgent(target.agent);
    } catch (err) {
      throw new McpError(ErrorCode.InvalidParams, toRpcError(err).message);
    }
    try {
      const result = await directory.call(target.agent, target.tool, request.params.arguments ?? {});
      return {
        content: [{ type: "text", text: JSON.stringify(result) }],
        ...(isRecord(result) ? { structuredContent: result } : {}),
      };
    } catch (err) {
      const error = toRpcError(err);
      if (error.code === RpcCode.InternalError)
        logger.error({ err, tool: request.params.name }, "MCP call failed");
      const data = error.data === undefined ? "" : `\n${JSON.stringify(error.data)}`;
      return {
        isError: true,
        content: [{ type: "text", text: `error ${error.code}: ${error.message}${data}` }],
      };
    }
  });
  return server;
}

/**
 * Mounts MCP Streamable HTTP at `/mcp`, stateless: each POST gets a fresh server and transport (no
 * session to lose between replicas), answered as plain JSON. GET/DELETE (server-sent streams,
 * session end) are 405, as the spec allows for a stateless server.
 */
export function mountMcp(app: Hono, directory: ToolDirectory, logger: Logger, version: string): void {
  app.post("/mcp", async (c) => {
    // Calls made while answering this HTTP request carry its id as their correlation id.
    const correlationId = c.get("requestId");
    const scoped: ToolDirectory = {
      list: () => directory.list(),
      call: (agent, tool, args, meta) => directory.call(agent, tool, args, { correlationId, ...meta }),
    };
    const server = createMcpServer(scoped, logger, version);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw);
    } finally {
      void server.close();
    }
  });
  app.on(["GET", "DELETE"], "/mcp", (c) =>
    c.json(
      {
        jsonrpc: "2.0",
        id: null,
        error: { code: -32000, message: "method not allowed: stateless MCP server" },
      },
      405,
      {
        Allow: "POST",
      },
    ),
  );
}
