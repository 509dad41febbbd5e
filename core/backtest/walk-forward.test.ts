import { describe, expect, it } from "vitest";
import { simulateCandles } from "../market/simulator.ts";
import { gridCombinations, sweep, WalkForwardSpec, walkForward } from "./walk-forward.ts";

describe("walk-forward", () => {
  const candles = simulateCandles({ seed: 99, timeframe: "15m" }, 6_000);
  const spec = WalkForwardSpec.parse({
    strategy: { kind: "ma_crossover" },
    grid: { fast: [5, 10, 20], slow: [20, 50, 100] },
    inSampleBars: 2_000,
    outOfSampleBars: 1_000,
    objective: "sharpe",
  });

  it("enumerates the grid in a stable order and skips combinations the strategy refuses", () => {
    expect(gridCombinations({ slow: [20, 50], fast: [5] })).toEqual([
      { fast: 5, slow: 20 },
      { fast: 5, slow: 50 },
    ]);
    const result = walkForward(candles, spec);
    expect(result.combinations).toBe(8); // fast 20 / slow 20 is refused (fast must be < slow)
    expect(result.windows[0]?.skipped).toBe(1);
  });

  it("tiles out-of-sample windows and picks on each in-sample window what a sweep of it ranks first", () => {
    const result = walkForward(candles, spec);
    // (6000 − 2000 − 1000) / 1000 + 1 = 4 windows, each OOS right after its IS.
    expect(result.windows).toHaveLength(4);
    const barMs = 900_000;
    for (const w of result.windows) {
      expect(w.outOfSample.from - w.inSample.to).toBe(barMs);
      expect(w.outOfSampleMetrics.bars).toBe(1_000);
      expect(w.inSampleMetrics.bars).toBe(2_000);
    }
    const first = result.windows[0];
    const ranked = sweep(candles.slice(0, 2_000), spec);
    expect(first?.best).toEqual(ranked[0]?.params);
    expect(first?.inSampleScore).toBe(ranked[0]?.score);
  });

  it("makes overfitting visible: on driftless random walks the in-sample winner does worse out of sample", () => {
    // Pooled over 16 independent walks, so the claim is about selection bias, not one lucky seed: the
    // best of 8 combinations in sample has a positive mean Sharpe (≈ 1.7-2.1 over seed sets 1-16 … 301-316);
    // out of sample the edge is gone (mean ≈ -0.4 … -1.0; the standard error of a 16-walk mean is ≈ 0.6).
    const free = { ...spec, fees: { maker: 0, taker: 0 }, inSampleBars: 2_000, outOfSampleBars: 1_500 };
    const walks = 16;
    let inSample = 0;
    let outOfSample = 0;
    for (let seed = 1; seed <= walks; seed++) {
      const noEdge = simulateCandles(
        {
          seed,
          timeframe: "15m",
          regimes: [{ name: "flat", drift_annual: 0, vol_scale: 1, mean_duration_days: 1 }],
        },
        8_000,
      );
      const result = walkForward(noEdge, free);
      inSample += (result.meanInSample as number) / walks;
      outOfSample += (result.meanOutOfSample as number) / walks;
    }
    expect(inSample).toBeGreaterThan(0.5);
    expect(outOfSample).toBeLessThan(inSample - 1);
    expect(outOfSample / inSample).toBeLessThan(0.5);
  });

  it("indexes the ML signal source by the bar's position in the whole series in every window", () => {
    let asked = 0;
    const signals = {
      probabilityAt(i: number, bar: { ts: number }) {
        asked++;
        if (candles[i]?.ts !== bar.ts) throw new Error(`signal index ${i} does not match bar ${bar.ts}`);
        return (bar.ts / 900_000) % 2 === 0 ? 0.7 : 0.3;
      },
    };
    const ml = WalkForwardSpec.parse({
      strategy: { kind: "ml_signal" },
      grid: { longAbove: [0.6, 0.65] },
      inSampleBars: 2_000,
      outOfSampleBars: 1_000,
    });
    const result = walkForward(candles, ml, { signals });
    expect(result.windows).toHaveLength(4);
    expect(asked).toBeGreaterThan(4 * 2 * 2_000);
  });

  it("refuses a window larger than the data", () => {
    expect(() => walkForward(candles.slice(0, 2_500), spec)).toThrow(/needs 3000 bars/);
  });
});
