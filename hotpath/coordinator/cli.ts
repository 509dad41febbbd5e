import { parseArgs } from "node:util";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { pino } from "pino";
import { z } from "zod";
import { processVersion } from "../../adapters/nats/agent-registry.ts";
import { ToolError } from "../../core/tools/errors.ts";
import { LedgerUsageError, ledgerCommand, profitCommand, tradesCommand } from "./cli-ledger.ts";
import { ANALYSIS_USAGE } from "./cli-analysis-usage.ts";
import type { AgentTools, ToolDirectory } from "./directory.ts";
import { CoordinatorClient, CoordinatorUnreachableError } from "./http-directory.ts";
import { loadConfig } from "../../core/config.ts";
import { createMcpServer, mcpPolicy } from "./mcp.ts";
import { SystemStatus } from "./status.ts";
import { validateCommand } from "./validate-cli.ts";

const USAGE = `bot4 — talk to the Bot4 coordinator

usage:
  bot4 call <agent> <tool> ['<json args>']   run one tool (agent by name or seed alias)
  bot4 tools [agent]                         list tools (all agents, or one)
  bot4 status                                agents, instances, versions, heartbeats, consumer lag
  bot4 mcp                                   MCP server over stdio, proxying the coordinator
  bot4 trades [filters] [--status open|closed] [--limit n] [--cursor c]   trades from the ledger
  bot4 profit [filters]                      realised/unrealised PnL, fees, win rate per strategy and symbol
  bot4 ledger rebuild                        replay EVENTS into a fresh ledger database (identical tables)
  bot4 validate [--agent <name>] [--json]    check every tool's contract (IntegrationValidator); exit 1 on a failure
${ANALYSIS_USAGE}

options:
  --url <url>        coordinator base URL (env BOT4_URL, default http://127.0.0.1:3000)
  --key <key>        API key (env BOT4_API_KEY), when the coordinator has BOT4_API_KEYS
  --timeout <ms>     per request (env BOT4_CLI_TIMEOUT_MS, default 30000)
  --json             print raw JSON (tools, status, trades, profit, ledger)
  filters            --strategy <id> --symbol <BTC/USDT> --account <a> --venue <v> --from/--to <ms|ISO>
  --json             print raw JSON (tools, status, validate)
  -h, --help

exit status: 0 ok, 1 the call failed or the coordinator is unreachable, 2 usage error`;

/** The CLI's environment, parsed like every other input. */
const CliEnv = z.object({
  BOT4_URL: z.string().url({ message: "must be an http(s) URL" }).default("http://127.0.0.1:3000"),
  BOT4_API_KEY: z.string().min(1).optional(),
  BOT4_CLI_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
});

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const stdio: Io = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
};

class UsageError extends Error {
  override name = "UsageError";
}

/** Runs the CLI and returns its exit status (the `mcp` command resolves only when stdin closes). */
export async function runCli(
  argv: readonly string[],
  env: Record<string, string | undefined> = process.env,
  io: Io = stdio,
): Promise<number> {
  // The analysis commands load the TypeScript compiler: only when asked for.
  if (argv[0] === "analyze" || argv[0] === "gate")
    return (await import("./cli-analysis.ts")).runAnalysisCli(argv, env, io);
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        url: { type: "string" },
        key: { type: "string" },
        timeout: { type: "string" },
        json: { type: "boolean", default: false },
        strategy: { type: "string" },
        symbol: { type: "string" },
        account: { type: "string" },
        venue: { type: "string" },
        status: { type: "string" },
        limit: { type: "string" },
        from: { type: "string" },
        to: { type: "string" },
        cursor: { type: "string" },
        agent: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    const [command, ...rest] = positionals;
    if (values.help || command === undefined || command === "help") {
      io.out(USAGE);
      return command === undefined && !values.help ? 2 : 0;
    }
    const parsedEnv = CliEnv.safeParse({
      BOT4_URL: values.url ?? (env.BOT4_URL || undefined),
      BOT4_API_KEY: values.key ?? (env.BOT4_API_KEY || undefined),
      BOT4_CLI_TIMEOUT_MS: values.timeout ?? (env.BOT4_CLI_TIMEOUT_MS || undefined),
    });
    if (!parsedEnv.success) {
      throw new UsageError(
        parsedEnv.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join("; "),
      );
    }
    const client = new CoordinatorClient({
      url: parsedEnv.data.BOT4_URL,
      timeoutMs: parsedEnv.data.BOT4_CLI_TIMEOUT_MS,
      ...(parsedEnv.data.BOT4_API_KEY !== undefined ? { apiKey: parsedEnv.data.BOT4_API_KEY } : {}),
    });
    switch (command) {
      case "call":
        return await call(client, rest, io);
      case "tools":
        return await tools(client, rest[0], values.json, io);
      case "status":
        return await status(client, values.json, io);
      case "mcp":
        return await mcp(client);
      case "trades":
        return await tradesCommand(client, values, values.json, io);
      case "profit":
        return await profitCommand(client, values, values.json, io);
      case "ledger":
        return await ledgerCommand(client, rest, values.json, io);
      case "validate":
        return await validateCommand(client, { agent: values.agent, json: values.json }, io);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (
      err instanceof UsageError ||
      err instanceof LedgerUsageError ||
      (err instanceof TypeError && "code" in err)
    ) {
      io.err(`bot4: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof CoordinatorUnreachableError) {
      io.err(`bot4: ${err.message}`);
      return 1;
    }
    const status = (err instanceof ToolError ? (err.data as { status?: unknown } | undefined) : undefined)
      ?.status;
    if (typeof status === "number") {
      const hint = status === 401 ? " (set BOT4_API_KEY or --key)" : "";
      io.err(`bot4: ${err instanceof Error ? err.message : String(err)}${hint}`);
      return 1;
    }
    if (err instanceof ToolError) {
      io.err(`bot4: error ${err.code}: ${err.message}`);
      for (const line of detailsOf(err.data)) io.err(`  ${line}`);
      return 1;
    }
    io.err(`bot4: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

/** Zod issues as `path: message` lines; other data as one JSON line. */
function detailsOf(data: unknown): string[] {
  const issues = (data as { issues?: unknown } | undefined)?.issues;
  if (Array.isArray(issues)) {
    return issues.map(
      (i: { path?: unknown; message?: unknown }) => `${String(i.path) || "(args)"}: ${String(i.message)}`,
    );
  }
  return data === undefined ? [] : [JSON.stringify(data)];
}

async function call(client: CoordinatorClient, rest: string[], io: Io): Promise<number> {
  const [agent, tool, raw] = rest;
  if (agent === undefined || tool === undefined) throw new UsageError("call needs <agent> <tool> ['<json>']");
  let args: unknown = {};
  if (raw !== undefined) {
    try {
      args = JSON.parse(raw);
    } catch {
      throw new UsageError(`the arguments are not valid JSON: ${raw}`);
    }
  }
  const result = await client.call(agent, tool, args);
  io.out(JSON.stringify(result, null, 2));
  return 0;
}

async function tools(client: CoordinatorClient, agent: string | undefined, json: boolean, io: Io) {
  const listing = (await client.list()).filter(
    (a) => agent === undefined || a.agent === agent.toLowerCase() || a.alias === agent.toLowerCase(),
  );
  if (agent !== undefined && listing.length === 0) throw new UsageError(`unknown agent "${agent}"`);
  if (json) {
    io.out(JSON.stringify(listing, null, 2));
    return 0;
  }
  for (const a of listing) io.out(formatAgentTools(a));
  return 0;
}

function formatAgentTools(a: AgentTools): string {
  const state = a.available ? `${a.instances} instance${a.instances === 1 ? "" : "s"}` : "not running";
  const lines = [`${a.agent} (${a.alias}, ${a.kind}) — ${state}`];
  if (a.available && a.tools.length === 0) lines.push("  (no tools)");
  for (const t of a.tools) {
    const props = Object.keys((t.inputSchema.properties as Record<string, unknown> | undefined) ?? {});
    lines.push(`  ${t.name}(${props.join(", ")})`);
    lines.push(`      ${t.description}`);
  }
  return lines.join("\n");
}

async function status(client: CoordinatorClient, json: boolean, io: Io) {
  const body = SystemStatus.parse(await client.status());
  if (json) {
    io.out(JSON.stringify(body, null, 2));
    return 0;
  }
  const rows = body.agents.map((a) => {
    const age =
      a.instances.length === 0
        ? "-"
        : `${(Math.min(...a.instances.map((i) => i.age_ms)) / 1000).toFixed(1)}s`;
    const lag =
      a.consumers === undefined
        ? ""
        : a.consumers.map((c) => (c.exists ? `${c.name} lag ${c.lag}` : `${c.name} absent`)).join(", ");
    return [a.name, a.kind, a.health, String(a.instances.length), a.version ?? "-", age, lag];
  });
  const header = ["agent", "kind", "health", "inst", "version", "seen", "consumers"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  io.out(line(header));
  for (const r of rows) io.out(line(r));
  io.out(`bus: ${body.bus.connected ? "connected" : "DISCONNECTED"} (${body.bus.server})`);
  if (!body.registry.ok) io.out(`registry: ${body.registry.error ?? "unreadable"}`);
  return 0;
}

/** Serves MCP over stdio, every call proxied to the coordinator. Logs go to stderr: stdout is the protocol. */
async function mcp(client: CoordinatorClient): Promise<number> {
  const logger = pino({ name: "bot4-mcp", level: process.env.LOG_LEVEL ?? "warn" }, pino.destination(2));
  // Calls still in flight when stdin ends are answered before the process leaves.
  const pending = new Set<Promise<unknown>>();
  const track = <T>(work: Promise<T>): Promise<T> => {
    pending.add(work);
    const forget = () => pending.delete(work);
    work.then(forget, forget);
    return work;
  };
  const directory: ToolDirectory = {
    list: () => track(client.list()),
    call: (agent, tool, args, meta) => track(client.call(agent, tool, args, meta)),
  };
  const server = createMcpServer(directory, logger, processVersion, mcpPolicy(loadConfig()));
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
    process.stdin.once("end", () => {
      void Promise.allSettled([...pending]).then(() => setTimeout(resolve, 10));
    });
  });
  await server.connect(transport);
  await closed;
  await server.close();
  return 0;
}
