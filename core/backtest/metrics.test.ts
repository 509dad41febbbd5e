import { describe, expect, it } from "vitest";
import { computeMetrics, YEAR_MS } from "./metrics.ts";

const DAY = 86_400_000;

/** Independent reference: the textbook formulas written the long way (arrays, O(n²) drawdowns). */
function reference(initial: number, equity: number[], barMs: number) {
  const all = [initial, ...equity];
  const r = equity.map((e, k) => e / (all[k] as number) - 1);
  const n = r.length;
  const mean = r.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(r.map((x) => (x - mean) ** 2).reduce((a, b) => a + b, 0) / (n - 1));
  const dsd = Math.sqrt(r.map((x) => Math.min(x, 0) ** 2).reduce((a, b) => a + b, 0) / n);
  const P = YEAR_MS / barMs;
  let mdd = 0;
  for (let j = 0; j < all.length; j++)
    for (let k = j; k < all.length; k++) mdd = Math.max(mdd, 1 - (all[k] as number) / (all[j] as number));
  const years = (n * barMs) / YEAR_MS;
  const cagr = ((equity[n - 1] as number) / initial) ** (1 / years) - 1;
  return {
    sharpe: (mean / sd) * Math.sqrt(P),
    sortino: (mean / dsd) * Math.sqrt(P),
    vol: sd * Math.sqrt(P),
    mdd,
    cagr,
  };
}

describe("metrics", () => {
  it("match hand-worked values on a tiny daily series", () => {
    // 100 → 110 → 99 → 99 → 120: returns +10 %, −10 %, 0 %, +21.21 %; drawdown 110 → 99 = 10 % over 2 bars.
    const m = computeMetrics({
      initialEquity: 100,
      equity: [110, 99, 99, 120],
      barMs: DAY,
      trades: [
        { pnl: 30, return: 0.3 },
        { pnl: -10, return: -0.1 },
        { pnl: 5, return: 0.05 },
      ],
      exposureBars: 3,
      tradedNotional: 450,
      totalFees: 1.5,
    });
    expect(m.totalReturn).toBeCloseTo(0.2, 12);
    expect(m.maxDrawdown).toBeCloseTo(0.1, 12);
    expect(m.maxDrawdownDurationBars).toBe(2);
    expect(m.maxDrawdownDurationMs).toBe(2 * DAY);
    expect(m.winRate).toBeCloseTo(2 / 3, 12);
    expect(m.profitFactor).toBeCloseTo(35 / 10, 12);
    expect(m.expectancy).toBeCloseTo(25 / 3, 12);
    expect(m.averageTradeReturn).toBeCloseTo(0.25 / 3, 12);
    expect(m.exposure).toBe(0.75);
    expect(m.turnover).toBe(4.5);
    // 4 days = 4/365 years: CAGR = 1.2^(365/4) − 1.
    expect(m.cagr).toBeCloseTo(1.2 ** (365 / 4) - 1, 6);
    expect(m.calmar).toBeCloseTo((1.2 ** (365 / 4) - 1) / 0.1, 4);
    const mean = (0.1 - 0.1 + 0 + 21 / 99) / 4;
    expect(m.sharpe).toBeCloseTo(
      (mean / Math.sqrt(((0.1 - mean) ** 2 + (-0.1 - mean) ** 2 + mean ** 2 + (21 / 99 - mean) ** 2) / 3)) *
        Math.sqrt(365),
      10,
    );
    // Downside deviation: only the −10 % bar counts, over n = 4 bars.
    expect(m.sortino).toBeCloseTo((mean / Math.sqrt(0.01 / 4)) * Math.sqrt(365), 10);
  });

  it("match an independent reference on a fixed random walk (relative tolerance 1e-9)", () => {
    let x = 1;
    let e = 10_000;
    const equity: number[] = [];
    for (let i = 0; i < 2_000; i++) {
      x = (x * 16_807) % 2_147_483_647; // Lehmer generator: fixed series, no library
      e *= 1 + (x / 2_147_483_647 - 0.499) * 0.01;
      equity.push(e);
    }
    const barMs = 3_600_000;
    const m = computeMetrics({
      initialEquity: 10_000,
      equity,
      barMs,
      trades: [],
      exposureBars: 0,
      tradedNotional: 0,
      totalFees: 0,
    });
    const ref = reference(10_000, equity, barMs);
    const rel = (a: number | null, b: number) => Math.abs((a as number) - b) / Math.abs(b);
    expect(rel(m.sharpe, ref.sharpe)).toBeLessThan(1e-9);
    expect(rel(m.sortino, ref.sortino)).toBeLessThan(1e-9);
    expect(rel(m.annualVolatility, ref.vol)).toBeLessThan(1e-9);
    expect(rel(m.maxDrawdown, ref.mdd)).toBeLessThan(1e-9);
    expect(rel(m.cagr, ref.cagr)).toBeLessThan(1e-9);
    expect(m.winRate).toBeNull();
    expect(m.profitFactor).toBeNull();
  });

  it("reports undefined ratios as null on a flat curve", () => {
    const m = computeMetrics({
      initialEquity: 100,
      equity: [100, 100, 100],
      barMs: DAY,
      trades: [],
      exposureBars: 0,
      tradedNotional: 0,
      totalFees: 0,
    });
    expect(m.sharpe).toBeNull();
    expect(m.sortino).toBeNull();
    expect(m.calmar).toBeNull();
    expect(m.maxDrawdown).toBe(0);
    expect(m.totalReturn).toBe(0);
  });
});
