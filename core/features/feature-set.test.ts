import { describe, expect, it } from "vitest";
import { syntheticBars } from "../ml/synthetic.ts";
import { FEATURES, FeatureStream, computeFeatures, featureSet } from "./feature-set.ts";
import { RollingMoments, emaAlpha, emaSeries, rollingMomentsSeries } from "./primitives.ts";

const { bars } = syntheticBars({ bars: 30_000, seed: "features", phi: 0.1 });
const batch = computeFeatures(bars);

/** Independent references, recomputed from scratch per bar (O(window) each). */
function naiveMeanStd(xs: readonly number[], end: number, n: number): [number, number] {
  const w = xs.slice(end - n + 1, end + 1);
  const mean = w.reduce((a, b) => a + b, 0) / n;
  const variance = w.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
  return [mean, Math.sqrt(variance)];
}

describe("feature set ta16", () => {
  it("streams bit-for-bit the rows the batch form computes, over 30 000 bars", () => {
    const stream = new FeatureStream();
    const streamed: Float64Array[] = [];
    for (const bar of bars) {
      const row = stream.push(bar);
      if (row !== undefined) streamed.push(row);
    }
    expect(batch.rows.length).toBe(bars.length - featureSet.warmup + 1);
    expect(streamed.length).toBe(batch.rows.length);
    let mismatches = 0;
    for (let k = 0; k < streamed.length; k++) {
      const a = streamed[k] as Float64Array;
      const b = batch.rows[k] as Float64Array;
      for (let j = 0; j < FEATURES.length; j++) if (!Object.is(a[j], b[j])) mismatches++;
    }
    expect(mismatches).toBe(0);
    expect(batch.rows.every((r) => r.every(Number.isFinite))).toBe(true);
  });

  it("matches from-scratch references within 1e-9 (relative) at the end of the series", () => {
    const closes = bars.map((b) => b.close);
    const lv = bars.map((b) => Math.log1p(b.volume));
    const last = bars.length - 1;
    const row = batch.rows.at(-1) as Float64Array;
    const col = (name: string) => row[FEATURES.indexOf(name as (typeof FEATURES)[number])] as number;
    const close = closes[last] as number;
    expect(col("ret_1")).toBeCloseTo(Math.log(close / (closes[last - 1] as number)), 12);
    expect(col("ret_20")).toBeCloseTo(Math.log(close / (closes[last - 20] as number)), 12);
    const [m, s] = naiveMeanStd(closes, last, 20);
    expect(col("bb_pctb_20")).toBeCloseTo((close - (m - 2 * s)) / (4 * s), 9);
    const [vm, vs] = naiveMeanStd(lv, last, 20);
    expect(col("volume_z_20")).toBeCloseTo(((lv[last] as number) - vm) / vs, 9);
    const bar = bars[last]!;
    expect(col("range")).toBeCloseTo((bar.high - bar.low) / bar.close, 15);
  });

  it("keeps rolling moments within 1e-9 of an exact window on a trending, badly scaled series", () => {
    // A price that drifts from 1e5 upward: naive running sums would lose the variance to cancellation.
    const xs = Array.from({ length: 20_000 }, (_, i) => 1e5 + i * 3.7 + Math.sin(i * 0.37) * 11);
    const { mean, std } = rollingMomentsSeries(xs, 20);
    const rm = new RollingMoments(20);
    for (let i = 0; i < xs.length; i++) {
      rm.push(xs[i] as number);
      if (i === 19 || i === 9_999 || i === 19_999) {
        const [m, s] = naiveMeanStd(xs, i, 20);
        expect(Math.abs((mean[i] as number) - m) / m).toBeLessThan(1e-12);
        expect(Math.abs((std[i] as number) - s) / s).toBeLessThan(1e-9);
        expect(rm.std).toBe(std[i]);
      }
    }
  });

  it("computes an EMA of a step equal to the closed form 1 − (1 − α)^k", () => {
    const a = emaAlpha(9);
    const e = emaSeries([0, ...Array.from({ length: 30 }, () => 1)], a);
    for (const k of [1, 5, 30]) expect(e[k]).toBeCloseTo(1 - (1 - a) ** k, 14);
  });

  it("gives RSI +0.5 on a steady rise and a flat close location on doji bars", () => {
    const rising = Array.from({ length: 60 }, (_, i) => {
      const c = 100 * 1.01 ** i;
      return { ts: i, open: c, high: c, low: c, close: c, volume: 5 };
    });
    const rows = computeFeatures(rising).rows;
    const last = rows.at(-1) as Float64Array;
    expect(last[FEATURES.indexOf("rsi_14")]).toBe(0.5);
    expect(last[FEATURES.indexOf("close_location")]).toBe(0);
    expect(last[FEATURES.indexOf("ret_5")]).toBeCloseTo(5 * Math.log(1.01), 12);
    expect(last[FEATURES.indexOf("volume_z_20")]).toBe(0);
  });
});
