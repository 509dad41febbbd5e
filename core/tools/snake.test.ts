import { describe, expect, it } from "vitest";
import { z } from "zod";
import { camelKey, fromSnake, intoSnake, snakeKey, snakeTool, toSnake } from "./snake.ts";
import { defineTool, describeTool } from "./tool.ts";

const Leg = z.object({ entryPrice: z.number().positive(), exitTs: z.number().int().optional() });
const Spec = z
  .object({
    runId: z.string().min(1).describe("the run"),
    maxTrades: z.number().int().default(200),
    legs: z.array(Leg).max(3),
    byRule: z.record(z.string(), Leg),
    strategy: z.discriminatedUnion("kind", [
      z.object({ kind: z.literal("ma"), allowShort: z.boolean().default(false) }),
      z.object({ kind: z.literal("bands"), stdDevs: z.number() }),
    ]),
    sizing: z.object({ maxFraction: z.number() }).default({ maxFraction: 1 }),
    note: z.unknown().optional(),
  })
  .strict()
  .refine((s) => s.legs.length > 0 || s.maxTrades === 0, {
    message: "legs are needed",
    path: ["maxTrades"],
  });

describe("snake_case twins of zod schemas", () => {
  it("renames keys both ways, the way JavaScript spells them", () => {
    expect(
      ["maxDrawdownDurationMs", "toolP99S", "onnxBase64", "id", "eventLoopLagP99S"].map(snakeKey),
    ).toEqual(["max_drawdown_duration_ms", "tool_p99_s", "onnx_base64", "id", "event_loop_lag_p99_s"]);
    expect(["max_drawdown", "std_devs", "lookback"].map(camelKey)).toEqual([
      "maxDrawdown",
      "stdDevs",
      "lookback",
    ]);
  });

  it("reads snake_case into the camelCase shape: nested, in arrays, records' values, union branches, defaults", () => {
    const got = fromSnake(Spec).parse({
      run_id: "r1",
      legs: [{ entry_price: 2, exit_ts: 5 }],
      by_rule: { wash_trade: { entry_price: 3 } },
      strategy: { kind: "bands", std_devs: 2 },
      note: { keptAsIs: 1 },
    });
    expect(got).toEqual({
      runId: "r1",
      maxTrades: 200,
      legs: [{ entryPrice: 2, exitTs: 5 }],
      byRule: { wash_trade: { entryPrice: 3 } },
      strategy: { kind: "bands", stdDevs: 2 },
      sizing: { maxFraction: 1 },
      note: { keptAsIs: 1 },
    });
    const ma = fromSnake(Spec).parse({
      run_id: "r",
      legs: [{ entry_price: 1 }],
      by_rule: {},
      strategy: { kind: "ma" },
    });
    expect(ma.strategy).toEqual({ kind: "ma", allowShort: false });
  });

  it("names bad fields as the wire does, the camelCase schema's refinements included", () => {
    const leaf = fromSnake(Spec).safeParse({
      run_id: "r",
      legs: [{ entry_price: -1 }],
      by_rule: {},
      strategy: { kind: "ma" },
    });
    expect(leaf.success).toBe(false);
    expect(leaf.error?.issues.map((i) => i.path.join("."))).toEqual(["legs.0.entry_price"]);
    const camel = fromSnake(Spec).safeParse({ runId: "r", legs: [], by_rule: {}, strategy: { kind: "ma" } });
    expect(camel.error?.issues.map((i) => i.code).sort()).toEqual(["invalid_type", "unrecognized_keys"]);
    const refined = fromSnake(Spec).safeParse({
      run_id: "r",
      legs: [],
      by_rule: {},
      strategy: { kind: "ma" },
    });
    expect(refined.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([
      ["max_trades", "legs are needed"],
    ]);
  });

  it("answers snake_case from the camelCase value, and toSnake agrees", () => {
    const value = {
      runId: "r",
      maxTrades: 1,
      legs: [{ entryPrice: 1 }],
      byRule: { someRule: { entryPrice: 2, exitTs: 3 } },
      strategy: { kind: "ma" as const, allowShort: true },
      sizing: { maxFraction: 0.5 },
    };
    const wire = {
      run_id: "r",
      max_trades: 1,
      legs: [{ entry_price: 1 }],
      by_rule: { someRule: { entry_price: 2, exit_ts: 3 } },
      strategy: { kind: "ma", allow_short: true },
      sizing: { max_fraction: 0.5 },
    };
    expect(intoSnake(Spec).parse(value)).toEqual(wire);
    expect(toSnake(Spec, value)).toEqual(wire);
  });

  it("answers fractions without binary noise, integers exactly", () => {
    const Report = z.object({
      winRate: z.number(),
      legs: z.array(z.object({ entryPrice: z.number(), exitTs: z.number().int() })),
    });
    const answer = intoSnake(Report).parse({
      winRate: 0.1 + 0.2,
      legs: [{ entryPrice: 3821.106931574706, exitTs: 1_764_633_600_123 }],
    });
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(answer).toEqual({
      win_rate: 0.3,
      legs: [{ entry_price: 3821.10693157, exit_ts: 1_764_633_600_123 }],
    });
  });

  it("describes snake_case JSON Schemas with the descriptions kept, and leaves snake_case schemas alone", () => {
    const tool = snakeTool(
      defineTool({
        name: "t",
        description: "t",
        input: Spec,
        output: Leg,
        handler: () => ({ entryPrice: 1 }),
      }),
    );
    const d = describeTool(tool);
    const props = (d.inputSchema as { properties: Record<string, { description?: string }> }).properties;
    expect(Object.keys(props)).toEqual([
      "run_id",
      "max_trades",
      "legs",
      "by_rule",
      "strategy",
      "sizing",
      "note",
    ]);
    expect(props.run_id?.description).toBe("the run");
    expect(Object.keys((d.outputSchema as { properties: object }).properties)).toEqual([
      "entry_price",
      "exit_ts",
    ]);
    const Snake = z.object({ order_id: z.string(), legs: z.array(z.object({ amount: z.number() })) });
    expect(fromSnake(Snake)).toBe(Snake);
    expect(intoSnake(Snake)).toBe(Snake);
  });
});
