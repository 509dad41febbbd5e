import { describe, expect, it } from "vitest";
import { events } from "../events/catalogue.ts";
import type { BacktestFailed } from "../events/data/backtesting.ts";
import type { Decision } from "../events/data/compliance.ts";
import { outputOf, recordKind, recordOf } from "./outputs.ts";

const decision: Decision = {
  eventId: "fill.executed:t1",
  eventType: "fill.executed",
  subject: "events.trade.fill",
  seq: 3,
  outcome: "pass",
  checked: [],
  violations: [],
  at: 1,
};

describe("function outputs from catalogue entries", () => {
  it("takes the subject and the type from the entry", () => {
    const data: BacktestFailed = { runId: "r1", reason: "no data", cause: "data", code: "data.invalid" };
    expect(outputOf(events.backtesting.failed, 7, data)).toEqual({
      cause: 7,
      subject: "events.backtesting.failed",
      type: "backtest.failed",
      data,
    });
    expect(recordOf(events.compliance.decision, 3, decision)).toEqual({
      cause: 3,
      kind: "decision",
      type: "audit.decision",
      data: decision,
    });
  });

  it("refuses data that does not match the entry's schema, naming the type and the schema", () => {
    const bad = { runId: "r1", reason: "x", cause: "weather", code: "x" } as unknown as BacktestFailed;
    expect(() => outputOf(events.backtesting.failed, 1, bad)).toThrow(
      /backtest\.failed: data does not match BacktestFailed[\s\S]*cause/,
    );
    expect(() => recordOf(events.compliance.decision, 1, { ...decision, seq: 0 })).toThrow(
      /audit\.decision: data does not match Decision/,
    );
    // A progress past the end of the run is not a progress.
    expect(() =>
      outputOf(events.backtesting.progress, 1, { runId: "r", done: 2, total: 1, fraction: 2 }),
    ).toThrow(/backtest\.progress/);
  });

  it("keeps records and events apart", () => {
    expect(() => outputOf(events.compliance.decision, 1, decision)).toThrow(/recordOf/);
    expect(() => recordKind(events.compliance.violation)).toThrow(/not an AUDIT record/);
    expect(recordKind(events.compliance.control)).toBe("control");
  });
});
