import { describe, expect, it } from "vitest";
import { type RiskSnapshot, defaultLimits, emptySnapshot } from "../../core/risk/snapshot.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { createToolRegistry } from "../../core/tools/registry.ts";
import type { ToolContext } from "../../core/tools/tool.ts";
import { type RiskControl, riskTools } from "./tools.ts";

/** A RiskControl over a fixed snapshot: the tools' view of the service without the bus. */
function control(snapshot: RiskSnapshot): RiskControl {
  let limits = snapshot.limits;
  return {
    limits: () => limits,
    snapshot: () => ({ ...snapshot, limits }),
    changeLimits: async (patch) => {
      const previous = limits;
      limits = { ...limits, ...patch };
      return { previous, limits, changed: Object.keys(patch) };
    },
  };
}
const ctx: ToolContext = { requestId: "r", correlationId: "r", transport: "local", logger: quietLogger() };
const registry = (s: RiskSnapshot) =>
  createToolRegistry("risk", riskTools({ KELLY_FRACTION: 0.5 }, control(s)));

describe("risk tools over a snapshot", () => {
  it("lists the eight tools of the issue", () => {
    expect([...registry(emptySnapshot(1)).tools.keys()]).toEqual([
      "calculate_kelly",
      "calculate_var",
      "monte_carlo",
      "optimize_portfolio",
      "risk_metrics",
      "pre_trade_check",
      "set_limits",
      "kill_switch",
    ]);
  });

  it("sizes with KELLY_FRACTION and the MAX_POSITION_SIZE in force", async () => {
    const r = registry({ ...emptySnapshot(1), limits: { ...defaultLimits, maxPositionSize: 0.5 } });
    const out = (await r.call(
      "calculate_kelly",
      { win_probability: 0.6, win_return: 1, loss_return: -1, equity: 1000 },
      ctx,
    )) as Record<string, unknown>;
    expect(out).toMatchObject({
      multiplier: 0.5,
      capped_by: null,
      max_position_size: 0.5,
    });
    expect(out.position_size).toBeCloseTo(0.1, 15);
    expect(out.position_value).toBeCloseTo(100, 12);
  });

  it("risk_metrics of an account with no equity reports nulls for ratios and one equity breach", async () => {
    const s = { ...emptySnapshot(0), positions: { "BTC/USDT": { amount: 1, mark: 100 } } };
    const out = (await registry(s).call("risk_metrics", {}, ctx)) as Record<string, unknown>;
    expect(out.gross_leverage).toBeNull();
    expect((out.positions as { fraction: number | null }[])[0]?.fraction).toBeNull();
    expect(out.breaches).toEqual([expect.objectContaining({ check: "equity", value: 0 })]);
  });

  it("optimize_portfolio annualises with periods_per_year and refuses a negative bound when long-only", async () => {
    const r = registry(emptySnapshot(1));
    const cov = [
      [0.0001, 0],
      [0, 0.0004],
    ];
    const out = (await r.call(
      "optimize_portfolio",
      { covariance: cov, expected_returns: [0.001, 0.002], periods_per_year: 252 },
      ctx,
    )) as Record<string, number>;
    // w = (0.8, 0.2): σ = √(0.64·1e-4 + 0.04·4e-4) = √8e-5 per day.
    expect(out.volatility).toBeCloseTo(Math.sqrt(8e-5) * Math.sqrt(252), 10);
    expect(out.expected_return).toBeCloseTo((0.8 * 0.001 + 0.2 * 0.002) * 252, 10);
    await expect(r.call("optimize_portfolio", { covariance: cov, min_weight: -0.5 }, ctx)).rejects.toThrow(
      /long_only: false/,
    );
  });
});
