import { describe, expect, it } from "vitest";
import type { Candle } from "../domain/market.ts";
import type { Bar } from "../features/feature-set.ts";
import { simulateCandles } from "../market/simulator.ts";
import { bollingerReversion } from "./bollinger.ts";
import { maCrossover } from "./ma-crossover.ts";
import { mlSignal } from "./ml-signal.ts";
import { momentum } from "./momentum.ts";
import { desiredPosition, orderToward } from "./orders.ts";
import { RollingWindow } from "./rolling.ts";
import { createStrategy, StrategySpec } from "./spec.ts";

const bar = (close: number, i = 0): Bar => ({
  ts: i * 60_000,
  open: close,
  high: close,
  low: close,
  close,
  volume: 1,
});
const feed = (s: { onBar(b: Bar, i: number): number | undefined }, closes: number[]) =>
  closes.map((c, i) => s.onBar(bar(c, i), i));

const sma = (xs: number[], end: number, n: number) =>
  xs.slice(end - n + 1, end + 1).reduce((a, b) => a + b, 0) / n;

describe("strategies", () => {
  it("MA crossover decides as naive SMAs recomputed at every bar (200k bars, resync included)", () => {
    const closes = simulateCandles({ seed: 12, timeframe: "1m" }, 200_000).map((c: Candle) => c.close);
    const got = feed(maCrossover({ fast: 7, slow: 25, allowShort: true }), closes);
    let checked = 0;
    for (let i = 0; i < closes.length; i += 97) {
      if (i < 24) {
        expect(got[i]).toBeUndefined();
        continue;
      }
      const f = sma(closes, i, 7);
      const s = sma(closes, i, 25);
      // Skip near-ties, where float order of summation may decide (relative gap < 1e-12).
      if (Math.abs(f - s) <= 1e-12 * s) continue;
      expect(got[i]).toBe(f > s ? 1 : -1);
      checked++;
    }
    expect(checked).toBeGreaterThan(2_000);
  });

  it("Bollinger buys below the lower band, exits at the middle; shorts above the upper band", () => {
    // period 3, 1σ: window [10, 10, 7] → mean 9, σ = √2 ≈ 1.414, lower 7.586 → 7 < lower: buy.
    const longOnly = feed(
      bollingerReversion({ period: 3, stdDevs: 1, allowShort: false }),
      [10, 10, 7, 8, 9, 14],
    );
    expect(longOnly).toEqual([undefined, undefined, 1, undefined, 0, undefined]);
    // [7, 8, 9]: mean 8, 9 ≥ 8 → exit the long at bar 4; with shorts, 9 is also above the upper band
    // 8 + σ = 8.816, so the long flips straight to short; at bar 5 ([8, 9, 14], mean 10.33) 14 > mid: hold.
    const both = feed(bollingerReversion({ period: 3, stdDevs: 1, allowShort: true }), [10, 10, 7, 8, 9, 14]);
    expect(both).toEqual([undefined, undefined, 1, undefined, -1, undefined]);
  });

  it("momentum compares the close with the one `lookback` bars earlier, with a dead band", () => {
    const s = momentum({ lookback: 2, threshold: 0.05, allowShort: true });
    // r at bar 2 = 110/100 − 1 = 10 % → 1; bar 3: 104/100 − 1 = 4 % → 0; bar 4: 90/110 − 1 = −18 % → −1.
    expect(feed(s, [100, 100, 110, 104, 90])).toEqual([undefined, undefined, 1, 0, -1]);
    expect(
      feed(momentum({ lookback: 2, threshold: 0.05, allowShort: false }), [100, 100, 110, 104, 90]),
    ).toEqual([undefined, undefined, 1, 0, 0]);
  });

  it("ML signal maps probabilities to targets through its thresholds", () => {
    const probs = [undefined, 0.7, 0.5, 0.3, 0.55];
    const s = mlSignal(
      { longAbove: 0.55, shortBelow: 0.45, allowShort: true },
      { probabilityAt: (i) => probs[i] },
    );
    expect(feed(s, [1, 1, 1, 1, 1])).toEqual([undefined, 1, 0, -1, 1]);
  });

  it("specs validate and build strategies", () => {
    expect(StrategySpec.safeParse({ kind: "ma_crossover", fast: 30, slow: 10 }).success).toBe(false);
    expect(StrategySpec.safeParse({ kind: "nope" }).success).toBe(false);
    expect(createStrategy(StrategySpec.parse({ kind: "bollinger" })).warmup).toBe(20);
    expect(() => createStrategy(StrategySpec.parse({ kind: "ml_signal" }))).toThrow(/signal source/);
  });

  it("sizing and order intent", () => {
    expect(desiredPosition(1, 10_000, 50, { fraction: 0.5 })).toBe(100);
    expect(desiredPosition(-1, 10_000, 50, { fraction: 1 })).toBe(-200);
    expect(desiredPosition(1, -5, 50, { fraction: 1 })).toBe(0);
    expect(orderToward(0, 2)).toEqual({ side: "buy", amount: 2 });
    expect(orderToward(2, -1)).toEqual({ side: "sell", amount: 3 });
    expect(orderToward(1, 1 + 1e-12)).toBeUndefined();
  });

  it("rolling window: mean, population σ and lags agree with direct computation", () => {
    const w = new RollingWindow(4);
    const xs = [3, 1, 4, 1, 5, 9, 2, 6];
    for (const x of xs) w.push(x);
    const last = xs.slice(-4);
    const mean = last.reduce((a, b) => a + b, 0) / 4;
    expect(w.mean()).toBeCloseTo(mean, 12);
    expect(w.std()).toBeCloseTo(Math.sqrt(last.reduce((a, b) => a + (b - mean) ** 2, 0) / 4), 12);
    expect(w.back(0)).toBe(6);
    expect(w.back(3)).toBe(5);
  });
});
