import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { type CallToolResult, ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { manifest, toolNature } from "../../core/agents/manifest.ts";
import { loadConfig } from "../../core/config.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { tradingSummary, venueModes } from "../../core/venues.ts";
import type { AgentTools, ToolDirectory } from "./directory.ts";
import { createMcpServer, type McpPolicy, mcpPolicy } from "./mcp.ts";
import { annotationsOf, OrderBudget } from "./mcp-safety.ts";

const schema = { type: "object", properties: {} };

/** A directory of every manifest tool that records the calls it gets; get_ticker answers last = 50 000. */
function recordingDirectory() {
  const calls: { agent: string; tool: string; args: unknown }[] = [];
  const listing: AgentTools[] = manifest.map((a) => ({
    agent: a.name,
    alias: a.alias,
    title: a.title,
    kind: a.kind,
    available: true,
    instances: 1,
    tools: Object.keys(a.tools).map((name) => ({
      name,
      description: name,
      inputSchema: schema,
      outputSchema: schema,
    })),
  }));
  const directory: ToolDirectory = {
    list: async () => listing,
    call: async (agent, tool, args) => {
      calls.push({ agent, tool, args });
      if (tool === "get_ticker") return { last: 50_000 };
      return { ok: true, tool };
    },
  };
  return { directory, calls, placed: () => calls.filter((c) => c.tool === "submit_order").length };
}

const policy = (over: Partial<McpPolicy> = {}): McpPolicy => ({
  ...mcpPolicy(loadConfig({ EXCHANGE_VENUES: "binance" })),
  ...over,
});

async function connect(
  directory: ToolDirectory,
  p: McpPolicy,
  elicit?: (message: string) => {
    action: "accept" | "decline" | "cancel";
    content?: Record<string, unknown>;
  },
) {
  const server = createMcpServer(directory, quietLogger(), "test", p);
  const client = new Client(
    { name: "safety-test", version: "1" },
    elicit === undefined ? {} : { capabilities: { elicitation: { form: {} } } },
  );
  const prompts: string[] = [];
  if (elicit !== undefined)
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      const message = String(req.params.message);
      prompts.push(message);
      return elicit(message);
    });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(a), client.connect(b)]);
  const call = (name: string, args: Record<string, unknown>) =>
    client.callTool({ name, arguments: args }) as Promise<CallToolResult>;
  const text = (r: CallToolResult) => (r.content[0] as { text: string }).text;
  return { client, call, text, prompts, close: () => client.close() };
}

const order = { symbol: "BTC/USDT", side: "buy", type: "market", amount: 0.01 };

describe("MCP annotations and toolsets from the manifest", () => {
  it("annotates every tool by its nature", async () => {
    const { directory } = recordingDirectory();
    const mcp = await connect(directory, policy());
    const { tools } = await mcp.client.listTools();
    const expected = manifest.flatMap((a) => Object.keys(a.tools)).length;
    expect(tools).toHaveLength(expected);
    const by = (name: string) => tools.find((t) => t.name === name)?.annotations;
    expect(by("risk__calculate_kelly")).toMatchObject({
      readOnlyHint: true,
      idempotentHint: true,
      destructiveHint: false,
    });
    expect(by("risk__set_limits")).toMatchObject({
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: false,
    });
    expect(by("exchange__submit_order")).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
      openWorldHint: true,
    });
    for (const t of tools) {
      const [agent, tool] = t.name.split("__") as [string, string];
      const nature = toolNature(agent, tool);
      expect(t.annotations, t.name).toMatchObject(annotationsOf(nature));
    }
    await mcp.close();
  });

  it("lists and runs read tools only under BOT4_MCP_TOOLSETS=read", async () => {
    const { directory, calls } = recordingDirectory();
    const p = mcpPolicy(loadConfig({ BOT4_MCP_TOOLSETS: "read" }));
    const mcp = await connect(directory, p);
    const { tools } = await mcp.client.listTools();
    expect(tools.length).toBeGreaterThan(0);
    expect(tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
    expect(tools.map((t) => t.name)).not.toContain("exchange__submit_order");
    const refused = await mcp.call("exchange__submit_order", order);
    expect(refused.isError).toBe(true);
    expect(mcp.text(refused)).toMatch(/not served here.*read tools only.*BOT4_MCP_TOOLSETS/);
    const killed = await mcp.call("riskquant__kill_switch", { active: true });
    expect(killed.isError).toBe(true);
    expect(calls).toEqual([]);
    await mcp.close();
    expect(() => loadConfig({ BOT4_MCP_TOOLSETS: "read,delete" })).toThrow(/BOT4_MCP_TOOLSETS/);
  });
});

describe("orders on a non-paper venue", () => {
  it("go through once the user confirms them by elicitation, and not when they decline", async () => {
    const rec = recordingDirectory();
    let answer: "accept" | "decline" = "accept";
    const mcp = await connect(rec.directory, policy(), () =>
      answer === "accept" ? { action: "accept", content: { confirm: true } } : { action: "decline" },
    );
    const ok = await mcp.call("exchange__submit_order", { ...order, venue: "binance" });
    expect(ok.isError).toBeFalsy();
    expect(mcp.prompts[0]).toMatch(/binance \(not paper\)/);
    expect(mcp.prompts[0]).toMatch(/Notional ≈ 500/);
    expect(rec.placed()).toBe(1);
    answer = "decline";
    const no = await mcp.call("exchange__submit_order", { ...order, venue: "binance" });
    expect(no.isError).toBe(true);
    expect(mcp.text(no)).toMatch(/not placed: the user did not confirm/);
    expect(rec.placed()).toBe(1);
    // Paper orders are never asked about.
    const paper = await mcp.call("exchange__submit_order", order);
    expect(paper.isError).toBeFalsy();
    expect(mcp.prompts).toHaveLength(2);
    expect(rec.placed()).toBe(2);
    await mcp.close();
  });

  it("are refused with a clear message when the client cannot elicit, unless the config allows them", async () => {
    const rec = recordingDirectory();
    const mcp = await connect(rec.directory, policy());
    const refused = await mcp.call("exchangespec__submit_order", { ...order, venue: "binance" });
    expect(refused.isError).toBe(true);
    expect(mcp.text(refused)).toMatch(
      /need the user's confirmation.*does not support elicitation.*BOT4_MCP_ALLOW_UNCONFIRMED_LIVE/,
    );
    const routed = await mcp.call("exchange__route_order", {
      ...order,
      venues: ["paper", "binance"],
      execute: true,
    });
    expect(routed.isError).toBe(true);
    const planned = await mcp.call("exchange__route_order", { ...order, venues: ["paper", "binance"] });
    expect(planned.isError).toBeFalsy();
    expect(rec.placed()).toBe(0);
    await mcp.close();

    const allowed = await connect(
      rec.directory,
      mcpPolicy(loadConfig({ EXCHANGE_VENUES: "binance", BOT4_MCP_ALLOW_UNCONFIRMED_LIVE: "true" })),
    );
    expect(
      (await allowed.call("exchange__submit_order", { ...order, venue: "binance" })).isError,
    ).toBeFalsy();
    expect(rec.placed()).toBe(1);
    await allowed.close();
  });
});

describe("the per-session order budget", () => {
  it("refuses the order past the per-minute count, and past the day's notional", async () => {
    const rec = recordingDirectory();
    const mcp = await connect(
      rec.directory,
      policy({ budget: { ordersPerMinute: 2, notionalPerDay: 1_000_000 } }),
    );
    expect((await mcp.call("exchange__submit_order", order)).isError).toBeFalsy();
    expect((await mcp.call("exchange__submit_order", order)).isError).toBeFalsy();
    const third = await mcp.call("exchange__submit_order", order);
    expect(third.isError).toBe(true);
    expect(mcp.text(third)).toMatch(/2 orders in the last minute; the budget is 2 per minute/);
    // Written like a tool's own error: a code, and the cause as data on the next line.
    expect(mcp.text(third)).toMatch(/^error -32003: order refused: .*\n\{"cause":"mcp_order_budget"\}$/);
    // A cancel is never held back by the budget.
    expect((await mcp.call("exchange__cancel_order", { order_id: "x" })).isError).toBeFalsy();
    expect(rec.placed()).toBe(2);
    await mcp.close();
    // A fresh session has its own budget; notional: 0.01 × 50 000 = 500 per order, 1 200 a day.
    const other = await connect(
      rec.directory,
      policy({ budget: { ordersPerMinute: 100, notionalPerDay: 1_200 } }),
    );
    expect((await other.call("exchange__submit_order", order)).isError).toBeFalsy();
    expect(
      (await other.call("exchange__submit_order", { ...order, type: "limit", price: 60_000 })).isError,
    ).toBeFalsy();
    const over = await other.call("exchange__submit_order", order);
    expect(over.isError).toBe(true);
    expect(mcp.text(over)).toMatch(
      /notional 500 would take this MCP session to 1600 today; the budget is 1200/,
    );
    await other.close();
  });

  it("slides the minute and resets the notional at the UTC day boundary (moved clock)", () => {
    let now = Date.UTC(2026, 0, 1, 23, 59, 0);
    const b = new OrderBudget({ ordersPerMinute: 1, notionalPerDay: 100 }, () => now);
    expect(b.refusal(60)).toBeUndefined();
    b.record(60);
    expect(b.refusal(10)).toMatch(/per minute/);
    now += 30_000;
    expect(b.refusal(10)).toMatch(/per minute/);
    now += 30_001; // a minute later, and a new UTC day
    expect(b.refusal(100)).toBeUndefined();
    expect(b.remaining()).toEqual({ orders: 1, notional: 100 });
  });
});

describe("which venues are live", () => {
  it("says paper only by default, testnet as sandbox, and live when BINANCE_TESTNET=false with keys", () => {
    expect(tradingSummary(venueModes(loadConfig({})))).toBe("paper trading only");
    const keys = { EXCHANGE_VENUES: "binance", BINANCE_API_KEY: "k", BINANCE_SECRET: "s" };
    expect(venueModes(loadConfig(keys), {})).toContainEqual({
      venue: "binance",
      mode: "sandbox",
      live: false,
    });
    const live = venueModes(loadConfig({ ...keys, BINANCE_TESTNET: "false" }), {});
    expect(live).toContainEqual({ venue: "binance", mode: "live", live: true });
    expect(tradingSummary(live)).toMatch(/^LIVE TRADING WITH REAL MONEY on binance/);
    expect(
      venueModes(loadConfig({ EXCHANGE_VENUES: "binance", BINANCE_TESTNET: "false" }), {}),
    ).toContainEqual({
      venue: "binance",
      mode: "public_only",
      live: false,
    });
  });
});
