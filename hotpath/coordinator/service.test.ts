import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findAgent, manifest, type ServiceAgent } from "../../core/agents/manifest.ts";
import { callTool } from "../../adapters/nats/tool-transport.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { consumerName, streams, subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { eventually, privateNats, testBus } from "../../test/nats.ts";
import { startService } from "../kit/service.ts";
import { kellyFraction, testConfig, testSpec } from "../kit/testing/agent.ts";
import { spawnAgent } from "../kit/testing/spawn.ts";
import type { RunningService } from "../kit/types.ts";
import { type Io, runCli } from "./cli.ts";
import { start } from "./service.ts";
import type { SystemStatus } from "./status.ts";

const risk = findAgent("risk") as ServiceAgent;
const seedArgs = { win_probability: 0.6, win_return: 1.0, loss_return: -1.0 };
/** f* = 0.6/1 − 0.4/1 = 0.2. */
const expected = kellyFraction(0.6, 1, -1);
const seedRequest = (id: string) =>
  `{"id":"${id}","method":"tool.execute","params":{"agent":"riskquant","tool":"calculate_kelly","args":{"win_probability":0.6,"win_return":1.0,"loss_return":-1.0}}}`;

const root = fileURLToPath(new URL("../../", import.meta.url));
const nats = await privateNats();
const bus = await testBus(nats.url, "coord");
const agentBus = await testBus(nats.url, "coord-agent");
await ensureTopology(bus);

interface RpcReply {
  id: string | number | null;
  result?: { kelly_fraction: number; served_by: string } & Record<string, unknown>;
  error?: { code: number; message: string; data?: { issues?: { path: string }[] } };
}
const read = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T;

let coordinator: RunningService;
let local: RunningService;
beforeAll(async () => {
  local = await startService(
    testSpec(risk, "local"),
    { config: testConfig(), bus: agentBus, logger: quietLogger() },
    { port: 0, instanceId: "local" },
  );
  coordinator = await start(
    { config: testConfig({ BOT4_TOOL_TIMEOUT_MS: "2000" }), bus, logger: quietLogger() },
    { port: 0 },
  );
});
afterAll(async () => {
  await coordinator.stop();
  await local.stop();
});

const rpc = (body: string, headers: Record<string, string> = {}) =>
  read<RpcReply>(
    fetch(`${coordinator.url}/rpc`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...headers },
    }),
  );

async function mcpClient(): Promise<Client> {
  const client = new Client({ name: "bot4-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${coordinator.url}/mcp`)));
  return client;
}

describe("the coordinator", () => {
  it("routes the seed's tool.execute verbatim to the owning agent over NATS", async () => {
    const reply = await rpc(seedRequest("seed-1"));
    expect(reply).toEqual({
      jsonrpc: "2.0",
      id: "seed-1",
      result: { kelly_fraction: expect.closeTo(expected, 12), served_by: "local" },
    });
  });

  it("gives the same result over the agent's HTTP, JSON-RPC, NATS and MCP (Streamable HTTP)", async () => {
    const http = await read<unknown>(
      fetch(`${local.url}/tools/calculate_kelly`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(seedArgs),
      }),
    );
    const viaRpc = (await rpc(seedRequest("same"))).result;
    const viaNats = await callTool(bus, "risk", "calculate_kelly", seedArgs);
    const client = await mcpClient();
    try {
      const listed = await client.listTools();
      const kelly = listed.tools.find((t) => t.name === "risk__calculate_kelly");
      expect(kelly?.inputSchema).toMatchObject({
        type: "object",
        required: ["win_probability", "win_return", "loss_return"],
      });
      const viaMcp = (await client.callTool({
        name: "risk__calculate_kelly",
        arguments: seedArgs,
      })) as CallToolResult;
      expect(viaMcp.isError).toBeFalsy();
      expect(viaMcp.structuredContent).toEqual(http);
      expect(viaRpc).toEqual(http);
      expect(viaNats).toEqual(http);
      expect(http).toEqual({ kelly_fraction: expect.closeTo(expected, 12), served_by: "local" });
    } finally {
      await client.close();
    }
  });

  it("reports wrong args as -32602 with the issues, over JSON-RPC and as an MCP tool error", async () => {
    const reply = await rpc(
      JSON.stringify({
        id: 1,
        method: "tool.execute",
        params: { agent: "risk", tool: "calculate_kelly", args: { win_probability: 3 } },
      }),
    );
    expect(reply.error?.code).toBe(RpcCode.InvalidParams);
    expect(reply.error?.data?.issues?.map((i) => i.path).sort()).toEqual([
      "loss_return",
      "win_probability",
      "win_return",
    ]);
    const client = await mcpClient();
    try {
      const bad = (await client.callTool({
        name: "risk__calculate_kelly",
        arguments: { win_probability: 3 },
      })) as CallToolResult;
      expect(bad.isError).toBe(true);
      expect(JSON.stringify(bad.content)).toContain("-32602");
      expect(JSON.stringify(bad.content)).toContain("win_return");
    } finally {
      await client.close();
    }
  });

  it("passes an agent's reply bytes through as they came, not re-serialised", async () => {
    // A responder on the inference agent's tool subject that answers in a form no JSON.stringify
    // would write: spaces, its own key order, an escaped slash, a number with an exponent.
    const odd = '{ "result" : {"b":1e3,  "a":"x\\/y"}, "jsonrpc":"2.0" ,"id":"odd-1"}';
    const sub = agentBus.serve(subjects.tools.of("inference"), "odd-responder", (msg) => {
      msg.respond(odd);
    });
    try {
      const res = await fetch(`${coordinator.url}/rpc`, {
        method: "POST",
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: "odd-1",
          method: "tool.execute",
          params: { agent: "mlengineer", tool: "predict", args: {} },
        }),
        headers: { "content-type": "application/json" },
      });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(odd);
    } finally {
      // Flushed, so the server has dropped the responder before the next test calls inference
      // (else a request could still be routed to it and go unanswered until its timeout).
      sub.unsubscribe();
      await agentBus.nc.flush();
    }
  });

  it("answers at once, naming the agent, when the agent is absent or unknown", async () => {
    const absent = await rpc(
      JSON.stringify({
        id: 2,
        method: "tool.execute",
        params: { agent: "mlengineer", tool: "predict", args: {} },
      }),
    );
    expect(absent.error).toMatchObject({
      code: RpcCode.AgentUnavailable,
      message: expect.stringContaining('"inference"'),
    });
    const unknown = await rpc(
      JSON.stringify({ id: 3, method: "tool.execute", params: { agent: "skynet", tool: "x" } }),
    );
    expect(unknown.error).toMatchObject({
      code: RpcCode.MethodNotFound,
      message: expect.stringContaining("skynet"),
    });
    const client = await mcpClient();
    try {
      const viaMcp = (await client.callTool({
        name: "exchange__get_balance",
        arguments: {},
      })) as CallToolResult;
      expect(viaMcp.isError).toBe(true);
      expect(JSON.stringify(viaMcp.content)).toContain('\\"exchange\\" has no running instance');
    } finally {
      await client.close();
    }
  });

  it("carries the HTTP request id through NATS headers to the agent, from JSON-RPC and MCP", async () => {
    const reply = await rpc(
      JSON.stringify({ id: "w1", method: "tool.execute", params: { agent: "risk", tool: "whoami" } }),
      { "x-request-id": "trace-42" },
    );
    expect(reply.result).toEqual({ requestId: "w1", correlationId: "trace-42", transport: "nats" });
    const client = new Client({ name: "bot4-test", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${coordinator.url}/mcp`), {
        requestInit: { headers: { "x-request-id": "mcp-trace-7" } },
      }),
    );
    try {
      const viaMcp = (await client.callTool({ name: "risk__whoami", arguments: {} })) as CallToolResult;
      expect(viaMcp.structuredContent).toMatchObject({ correlationId: "mcp-trace-7", transport: "nats" });
    } finally {
      await client.close();
    }
  });

  it("correlates a /rpc call without X-Request-Id by its JSON-RPC id, on the coordinator and the agent alike", async () => {
    const whoami = (id: string) =>
      JSON.stringify({ id, method: "tool.execute", params: { agent: "risk", tool: "whoami" } });
    const post = (body: string | ReadableStream<Uint8Array>, headers: Record<string, string> = {}) =>
      fetch(`${coordinator.url}/rpc`, {
        method: "POST",
        body,
        headers: { "content-type": "application/json", ...headers },
        duplex: "half",
      } as RequestInit);
    // What reaches the agent's subject: the headers of each call (a listener beside the queue group).
    const seen: (string | undefined)[] = [];
    const spy = agentBus.nc.subscribe(subjects.tools.of("risk"), {
      callback: (_err, msg) => {
        seen.push(msg.headers?.get("Bot4-Correlation-Id"));
      },
    });
    await agentBus.nc.flush();
    const answerOf = async (res: Response) => ({
      requestId: res.headers.get("x-request-id"),
      result: ((await res.json()) as RpcReply).result,
    });
    // The fast path (a plain call) and the Hono route (a chunked body, which only Hono reads) agree.
    const fast = await answerOf(await post(whoami("w2")));
    const chunked = new Blob([whoami("w3")]).stream();
    const viaHono = await answerOf(await post(chunked));
    expect(fast).toEqual({
      requestId: "w2",
      result: { requestId: "w2", correlationId: "w2", transport: "nats" },
    });
    expect(viaHono).toEqual({
      requestId: "w3",
      result: { requestId: "w3", correlationId: "w3", transport: "nats" },
    });
    // A caller's correlation header still reaches the agent; an id that is no request id gets a fresh one.
    const traced = await answerOf(await post(whoami("w4"), { "bot4-correlation-id": "flow-4" }));
    expect(traced).toEqual({
      requestId: "w4",
      result: { requestId: "w4", correlationId: "flow-4", transport: "nats" },
    });
    const odd = await answerOf(await post(whoami("not a request id")));
    expect(odd.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(odd.result).toEqual({
      requestId: "not a request id",
      correlationId: odd.requestId,
      transport: "nats",
    });
    await agentBus.nc.flush();
    spy.unsubscribe();
    // The agent derived the default ids from the body: none travelled in headers.
    expect(seen).toEqual([undefined, undefined, "flow-4", odd.requestId]);
  });

  it("forwards a batch member by member and answers the agents' replies in request order", async () => {
    const batch = [
      {
        jsonrpc: "2.0",
        id: "b1",
        method: "tool.execute",
        params: { agent: "risk", tool: "calculate_kelly", args: seedArgs },
      },
      {
        jsonrpc: "2.0",
        method: "tool.execute",
        params: { agent: "risk", tool: "calculate_kelly", args: seedArgs },
      },
      { jsonrpc: "2.0", id: 7, method: "tool.execute", params: { agent: "risk", tool: "whoami" } },
      { jsonrpc: "2.0", id: "b3", method: "tool.execute", params: { agent: "skynet", tool: "x" } },
      { jsonrpc: "2.0", id: "b4", method: "tool.nope" },
      {
        jsonrpc: "2.0",
        id: "b5",
        method: "tool.execute",
        params: { agent: "coordinator", tool: "agent_status", args: { agent: "risk" } },
      },
    ];
    const replies = await read<RpcReply[]>(
      fetch(`${coordinator.url}/rpc`, {
        method: "POST",
        body: JSON.stringify(batch),
        headers: { "content-type": "application/json", "x-request-id": "batch-trace" },
      }),
    );
    expect(replies.map((r) => r.id)).toEqual(["b1", 7, "b3", "b4", "b5"]);
    expect(replies[0]?.result).toEqual({ kelly_fraction: expect.closeTo(expected, 12), served_by: "local" });
    // A numeric id is no request id: the agent is told a fresh one, and the caller's trace.
    expect(replies[1]?.result).toMatchObject({ correlationId: "batch-trace", transport: "nats" });
    expect(replies[1]?.result?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(replies[2]?.error?.code).toBe(RpcCode.MethodNotFound);
    expect(replies[3]?.error?.code).toBe(RpcCode.MethodNotFound);
    expect(replies[4]?.result).toMatchObject({ agents: [expect.objectContaining({ name: "risk" })] });
    const failed = await rpc(
      JSON.stringify({
        id: 9,
        method: "tool.execute",
        params: { agent: "risk", tool: "calculate_kelly", args: {} },
      }),
    );
    expect(failed.error?.code).toBe(RpcCode.InvalidParams);
    const metrics = await (await fetch(`${coordinator.url}/metrics`)).text();
    expect(metrics).toMatch(/bot4_tool_calls_total\{tool="risk\.\?",transport="rpc",outcome="invalid"/);
  });

  it("aggregates every agent's tools, marking absent agents, and counts instances and routed calls", async () => {
    const body = await read<{ agents: { agent: string; available: boolean; tools: { name: string }[] }[] }>(
      fetch(`${coordinator.url}/tools`),
    );
    const byName = new Map(body.agents.map((a) => [a.agent, a]));
    expect(byName.get("risk")?.available).toBe(true);
    expect(byName.get("risk")?.tools.map((t) => t.name)).toContain("calculate_kelly");
    expect(byName.get("coordinator")?.tools.map((t) => t.name)).toEqual(["agent_status"]);
    expect(byName.get("exchange")).toMatchObject({ available: false, tools: [] });
    expect(body.agents).toHaveLength(manifest.length);
    const metrics = await (await fetch(`${coordinator.url}/metrics`)).text();
    expect(metrics).toMatch(/bot4_agent_instances\{target="risk"[^}]*\} 1/);
    expect(metrics).toMatch(/bot4_agent_instances\{target="exchange"[^}]*\} 0/);
    expect(metrics).toMatch(
      /bot4_tool_calls_total\{tool="risk\.calculate_kelly",transport="rpc",outcome="ok"/,
    );
  });

  it("shows function consumer lag in /status", async () => {
    const stream = streams.COMMANDS.name;
    await bus.ensureConsumer(stream, consumerName("quality"), {
      filter_subject: subjects.commands.forFunction("quality"),
    });
    for (let i = 0; i < 3; i++)
      await bus.js.publish(subjects.commands.of("quality", "review"), bus.encode({ i }));
    const status = await read<SystemStatus>(fetch(`${coordinator.url}/status`));
    const quality = status.agents.find((a) => a.name === "quality");
    // quality's first input is its command subject (lag 3); its second, the architect's completion
    // events on EVENTS, has no consumer in this test.
    expect(quality?.consumers).toEqual([
      expect.objectContaining({ name: "fn_quality", stream: "COMMANDS", exists: true, lag: 3 }),
      expect.objectContaining({ stream: "EVENTS", exists: false }),
    ]);
    const architect = status.agents.find((a) => a.name === "architect");
    expect(architect).toMatchObject({
      health: "down",
      consumers: [expect.objectContaining({ exists: false })],
    });
  });
});

describe("a coordinator with API keys", () => {
  it("wants the bearer key on /rpc, /status and /mcp, from the MCP SDK and the CLI alike", async () => {
    const keyed = await start(
      { config: testConfig({ BOT4_API_KEYS: "sesame" }), bus, logger: quietLogger() },
      { port: 0 },
    );
    try {
      expect((await fetch(`${keyed.url}/status`)).status).toBe(401);
      expect(
        (
          await fetch(`${keyed.url}/rpc`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: seedRequest("k"),
          })
        ).status,
      ).toBe(401);
      const anonymous = new Client({ name: "anon", version: "1.0.0" });
      await expect(
        anonymous.connect(new StreamableHTTPClientTransport(new URL(`${keyed.url}/mcp`))),
      ).rejects.toThrow();
      const client = new Client({ name: "keyed", version: "1.0.0" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${keyed.url}/mcp`), {
          requestInit: { headers: { authorization: "Bearer sesame" } },
        }),
      );
      try {
        const r = (await client.callTool({
          name: "risk__calculate_kelly",
          arguments: seedArgs,
        })) as CallToolResult;
        expect(r.structuredContent).toMatchObject({ kelly_fraction: expect.closeTo(expected, 12) });
      } finally {
        await client.close();
      }
      const out: string[] = [];
      const io: Io = { out: (t) => out.push(t), err: (t) => out.push(t) };
      expect(await runCli(["status"], { BOT4_URL: keyed.url }, io)).toBe(1);
      expect(out.join("\n")).toContain("HTTP 401: missing bearer token (set BOT4_API_KEY or --key)");
      expect(await runCli(["status"], { BOT4_URL: keyed.url, BOT4_API_KEY: "sesame" }, io)).toBe(0);
    } finally {
      await keyed.stop();
    }
  });
});

describe("the bot4 CLI", () => {
  const capture = () => {
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t) };
    return { io, out, err };
  };
  const env = () => ({ BOT4_URL: coordinator.url });

  it("calls a tool and prints its JSON result", async () => {
    const { io, out } = capture();
    expect(await runCli(["call", "riskquant", "calculate_kelly", JSON.stringify(seedArgs)], env(), io)).toBe(
      0,
    );
    expect(JSON.parse(out.join("\n")).kelly_fraction).toBeCloseTo(expected, 12);
  });

  it("exits 1 with the code and the issues when the call fails, 2 on usage errors", async () => {
    const bad = capture();
    expect(await runCli(["call", "risk", "calculate_kelly", '{"win_probability":2}'], env(), bad.io)).toBe(1);
    expect(bad.err.join("\n")).toMatch(/-32602[\s\S]*win_probability/);
    const absent = capture();
    expect(await runCli(["call", "inference", "predict"], env(), absent.io)).toBe(1);
    expect(absent.err.join("\n")).toContain('"inference"');
    const usage = capture();
    expect(await runCli(["call", "risk", "calculate_kelly", "{nope"], env(), usage.io)).toBe(2);
    const down = capture();
    expect(await runCli(["status"], { BOT4_URL: "http://127.0.0.1:9" }, down.io)).toBe(1);
    expect(down.err.join("\n")).toContain("cannot reach the coordinator");
  });

  it("prints tools and status readably", async () => {
    const tools = capture();
    expect(await runCli(["tools", "risk"], env(), tools.io)).toBe(0);
    expect(tools.out.join("\n")).toContain("calculate_kelly(win_probability, win_return, loss_return)");
    const status = capture();
    expect(await runCli(["status"], env(), status.io)).toBe(0);
    const text = status.out.join("\n");
    expect(text).toMatch(/^risk\s+service\s+up\s+1\s+9\.9\.9-test/m);
    expect(text).toMatch(/^exchange\s+service\s+down\s+0/m);
  });

  it("runs from the package bin and serves MCP over stdio", async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [`${root}bin/bot4.mjs`, "mcp"],
      env: { ...(process.env as Record<string, string>), BOT4_URL: coordinator.url, LOG_LEVEL: "silent" },
      stderr: "inherit",
    });
    const client = new Client({ name: "bot4-stdio-test", version: "1.0.0" });
    await client.connect(transport);
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain("risk__calculate_kelly");
      expect(names).toContain("coordinator__agent_status");
      const result = (await client.callTool({
        name: "risk__calculate_kelly",
        arguments: seedArgs,
      })) as CallToolResult;
      expect(result.structuredContent).toEqual({
        kelly_fraction: expect.closeTo(expected, 12),
        served_by: "local",
      });
    } finally {
      await client.close();
    }
  });
});

describe("replicas", () => {
  it("share calls; after one is killed calls keep succeeding and /status drops it once its heartbeat expires", async () => {
    const other = await spawnAgent(nats.url, "child");
    const statusOf = async () =>
      (await read<SystemStatus>(fetch(`${coordinator.url}/status`))).agents.find((a) => a.name === "risk");
    await eventually(async () => (await statusOf())?.instances.length === 2, 5_000, "two risk instances");

    const served = new Set<string>();
    for (let i = 0; i < 40; i++) served.add(String((await rpc(seedRequest(`r${i}`))).result?.served_by));
    expect([...served].sort()).toEqual(["child", "local"]);

    other.child.kill("SIGKILL");
    await other.exited;
    // The kernel has closed the dead process's socket; give nats-server a moment to read the EOF and
    // drop its subscription (a call routed to it inside that window would time out, naming the agent).
    await new Promise((r) => setTimeout(r, 250));
    for (let i = 0; i < 20; i++) {
      const reply = await rpc(seedRequest(`after${i}`));
      expect(reply.result).toEqual({ kelly_fraction: expect.closeTo(expected, 12), served_by: "local" });
    }
    const after = await eventually(
      async () => {
        const s = await statusOf();
        return s?.instances.length === 1 ? s : undefined;
      },
      15_000,
      "the killed instance to leave /status",
    );
    expect(after.instances.map((i) => i.instance_id)).toEqual(["local"]);
    expect(after.health).toBe("up");
  });
});
