import { describe, expect, it } from "vitest";
import { EventEnvelope, eventJson, makeEvent, parseEvent } from "./envelope.ts";
import { RpcRequest, RpcResponse, ToolExecuteParams } from "./jsonrpc.ts";
import { z } from "zod";

describe("JSON-RPC schemas", () => {
  it("accept the seed's request verbatim, without the jsonrpc member", () => {
    const seed = JSON.parse(
      '{"id":"6f1c2b8e-3d4a-4b5c-9d6e-7f8a9b0c1d2e","method":"tool.execute","params":{"agent":"riskquant","tool":"calculate_kelly","args":{"win_probability":0.6,"win_return":1.0,"loss_return":-1.0}}}',
    );
    const request = RpcRequest.parse(seed);
    expect(request.jsonrpc).toBeUndefined();
    expect(ToolExecuteParams.parse(request.params)).toEqual({
      agent: "riskquant",
      tool: "calculate_kelly",
      args: { win_probability: 0.6, win_return: 1, loss_return: -1 },
    });
  });

  it("refuse a wrong jsonrpc version and a response with both result and error shapes missing", () => {
    expect(RpcRequest.safeParse({ jsonrpc: "1.0", id: 1, method: "x" }).success).toBe(false);
    expect(RpcResponse.safeParse({ jsonrpc: "2.0", id: 1 }).success).toBe(false);
    expect(
      RpcResponse.safeParse({ jsonrpc: "2.0", id: 1, error: { code: -32601, message: "m" } }).success,
    ).toBe(true);
  });
});

describe("event envelope", () => {
  it("writes an envelope's JSON around its data's JSON as JSON.stringify does, with and without a causation id", () => {
    const data = { price: 1.5, note: 'é \u2028 "q"', nested: [1, null] };
    const plain = makeEvent({
      type: "order.filled",
      source: "exchange",
      subject: "events.order.filled",
      data,
    });
    const caused = makeEvent(
      { type: "fill.executed", source: "exchange", subject: "events.fill", data },
      plain,
    );
    for (const e of [plain, caused]) {
      expect(eventJson(e)).toBe(JSON.stringify(e));
      expect(eventJson(e, JSON.stringify(e.data))).toBe(JSON.stringify(e));
    }
  });

  it("carries correlation from its cause and causation to it", () => {
    const first = makeEvent({
      type: "order.submitted",
      source: "exchange",
      subject: "events.trade.order.submitted",
      data: {},
    });
    const second = makeEvent(
      { type: "fill.executed", source: "exchange", subject: "events.trade.fill", data: { n: 1 } },
      first,
    );
    expect(first.correlationid).toBe(first.id);
    expect(second.correlationid).toBe(first.id);
    expect(second.causationid).toBe(first.id);
    expect(EventEnvelope.parse(second)).toMatchObject({ specversion: "1.0", type: "fill.executed" });
  });

  it("refuses a type that is not dotted lowercase, and data that fails its schema", () => {
    const bad = makeEvent({ type: "OrderFilled", source: "x", subject: "events.x.y", data: {} });
    expect(EventEnvelope.safeParse(bad).success).toBe(false);
    const ok = makeEvent({
      type: "order.filled",
      source: "x",
      subject: "events.x.y",
      data: { amount: "lots" },
    });
    expect(() => parseEvent(ok, z.object({ amount: z.number() }))).toThrow(/amount/);
  });
});
