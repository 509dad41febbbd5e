import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { callTool, forwardRpc, serveToolsOverNats } from "../../adapters/nats/tool-transport.ts";
import { RpcCode, RpcResponse } from "../protocol/jsonrpc.ts";
import { kellyTool } from "../../test/fixtures/kelly.ts";
import { privateNats, testBus } from "../../test/nats.ts";
import { ToolError } from "./errors.ts";
import { localDispatch } from "./execute.ts";
import { createToolRegistry } from "./registry.ts";
import { defineTool } from "./tool.ts";

const kelly = kellyTool();
const broken = defineTool({
  name: "explode",
  description: "always throws an internal error",
  input: z.object({}),
  output: z.object({}),
  handler: () => {
    throw new Error("secret database password in /etc/shadow");
  },
});

const agent = "risk";
const seed = (id: string) =>
  `{"id":"${id}","method":"tool.execute","params":{"agent":"riskquant","tool":"calculate_kelly","args":{"win_probability":0.6,"win_return":1.0,"loss_return":-1.0}}}`;

describe("tool.execute over NATS", async () => {
  const nats = await privateNats();
  const server = await testBus(nats.url, "kelly-server");
  const client = await testBus(nats.url, "kelly-client");
  const registry = createToolRegistry(agent, [kelly, broken]);
  serveToolsOverNats(server, agent, localDispatch([registry]));
  await server.nc.flush();

  it("answers the seed's request verbatim (no jsonrpc member) with a JSON-RPC 2.0 response", async () => {
    const id = randomUUID();
    const reply = JSON.parse(await forwardRpc(client, "riskquant", seed(id)));
    expect(RpcResponse.parse(reply)).toEqual({
      jsonrpc: "2.0",
      id,
      result: { kelly_fraction: expect.closeTo(0.2, 12), served_by: "test" },
    });
  });

  it("reports malformed JSON as -32700", async () => {
    const reply = JSON.parse(await forwardRpc(client, agent, '{"id":1,"method":'));
    expect(reply).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: RpcCode.ParseError } });
  });

  it("reports an unknown agent and an unknown tool as -32601 naming them", async () => {
    const a = JSON.parse(
      await forwardRpc(
        client,
        agent,
        JSON.stringify({ id: 1, method: "tool.execute", params: { agent: "nobody", tool: "x", args: {} } }),
      ),
    );
    expect(a.error).toMatchObject({
      code: RpcCode.MethodNotFound,
      message: expect.stringContaining('"nobody"'),
    });
    const t = JSON.parse(
      await forwardRpc(
        client,
        agent,
        JSON.stringify({ id: 2, method: "tool.execute", params: { agent, tool: "nope", args: {} } }),
      ),
    );
    expect(t.error).toMatchObject({
      code: RpcCode.MethodNotFound,
      message: expect.stringContaining('"nope"'),
    });
  });

  it("reports wrong args as -32602 with the zod issues in data", async () => {
    const reply = JSON.parse(
      await forwardRpc(
        client,
        agent,
        JSON.stringify({
          id: 3,
          method: "tool.execute",
          params: { agent, tool: "calculate_kelly", args: { win_probability: 1.5, win_return: 1 } },
        }),
      ),
    );
    expect(reply.error.code).toBe(RpcCode.InvalidParams);
    const paths = reply.error.data.issues.map((i: { path: string }) => i.path).sort();
    expect(paths).toEqual(["loss_return", "win_probability"]);
  });

  it("reports an invalid request as -32600 and an unknown method as -32601", async () => {
    const invalid = JSON.parse(await forwardRpc(client, agent, JSON.stringify({ id: 4, method: 42 })));
    expect(invalid.error.code).toBe(RpcCode.InvalidRequest);
    expect(invalid.id).toBe(4);
    const method = JSON.parse(
      await forwardRpc(client, agent, JSON.stringify({ id: 5, method: "tool.nope" })),
    );
    expect(method.error.code).toBe(RpcCode.MethodNotFound);
  });

  it("hides internal errors behind -32603 without message or stack", async () => {
    const text = await forwardRpc(
      client,
      agent,
      JSON.stringify({ id: 6, method: "tool.execute", params: { agent, tool: "explode" } }),
    );
    expect(JSON.parse(text).error).toEqual({
      code: RpcCode.InternalError,
      message: "internal error",
      data: { cause: "internal", code: "internal" },
    });
    expect(text).not.toContain("shadow");
  });

  it("answers a batch of three mixed requests with three responses in order", async () => {
    const batch = [
      JSON.parse(seed("a")),
      { jsonrpc: "2.0", id: "b", method: "tool.execute", params: { agent, tool: "missing" } },
      {
        jsonrpc: "2.0",
        id: "c",
        method: "tool.execute",
        params: { agent, tool: "calculate_kelly", args: { win_probability: 2 } },
      },
    ];
    const reply = JSON.parse(await forwardRpc(client, agent, JSON.stringify(batch)));
    expect(reply.map((r: { id: string }) => r.id)).toEqual(["a", "b", "c"]);
    expect(reply[0].result.kelly_fraction).toBeCloseTo(0.2, 12);
    expect(reply[1].error.code).toBe(RpcCode.MethodNotFound);
    expect(reply[2].error.code).toBe(RpcCode.InvalidParams);
  });

  it("returns results and ToolErrors through callTool", async () => {
    await expect(
      callTool(client, "riskquant", "calculate_kelly", {
        win_probability: 0.6,
        win_return: 1,
        loss_return: -1,
      }),
    ).resolves.toEqual({ kelly_fraction: expect.closeTo(0.2, 12), served_by: "test" });
    const err = await callTool(client, agent, "calculate_kelly", {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).code).toBe(RpcCode.InvalidParams);
  });

  it("names the agent when it has no instance, and when it does not answer in time", async () => {
    const absent = await callTool(client, "integration", "anything", {}, { timeout: 1000 }).catch(
      (e: unknown) => e,
    );
    expect(absent).toMatchObject({
      code: RpcCode.AgentUnavailable,
      message: expect.stringContaining('"integration"'),
    });
    const silent = `silent-${randomUUID().slice(0, 8)}`;
    server.nc.subscribe(`tools.${silent}`, { callback: () => {} });
    await server.nc.flush();
    const late = await callTool(client, silent, "anything", {}, { timeout: 200 }).catch((e: unknown) => e);
    expect(late).toMatchObject({ code: RpcCode.Timeout, message: expect.stringContaining(`"${silent}"`) });
  });

  it("exports JSON Schemas of input and output", () => {
    const [d] = registry.describe();
    expect(d?.inputSchema).toMatchObject({
      type: "object",
      required: ["win_probability", "win_return", "loss_return"],
    });
    expect(d?.outputSchema).toMatchObject({
      type: "object",
      properties: { kelly_fraction: { type: "number" } },
    });
  });
});
