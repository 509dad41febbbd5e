import { describe, expect, it } from "vitest";
import { normalCdf, normalQuantile } from "../risk/normal.ts";
import { createRandom } from "./random.ts";

/** One million standard normals from a fixed seed, shared by the distribution checks below. */
const N = 1_000_000;
const draws = createRandom(20).fillNormal(new Float64Array(N));

describe("seeded normals: fillNormal", () => {
  it("gives the same draws as normal() one at a time, across chunk boundaries, and leaves the stream where normal() would", () => {
    for (const length of [1, 255, 256, 257, 1000, 4096 + 3]) {
      const a = createRandom(length);
      const b = createRandom(length);
      const filled = a.fillNormal(new Float64Array(length));
      const single = Float64Array.from({ length }, () => b.normal());
      expect(filled).toEqual(single);
      expect(a.uniform()).toBe(b.uniform());
      expect(a.normal()).toBe(b.normal());
    }
  });
});

describe("seeded normals: distribution (1,000,000 draws)", () => {
  it("mean 0, variance 1, skewness 0 and excess kurtosis 0 within 5 standard errors", () => {
    let m = 0;
    for (const v of draws) m += v;
    m /= N;
    let m2 = 0;
    let m3 = 0;
    let m4 = 0;
    for (const v of draws) {
      const d = v - m;
      m2 += d * d;
      m3 += d * d * d;
      m4 += d * d * d * d;
    }
    m2 /= N;
    m3 /= N;
    m4 /= N;
    // Standard errors for a normal sample: mean 1/√n, variance √(2/n), skewness √(6/n), kurtosis √(24/n).
    expect(Math.abs(m)).toBeLessThan(5 / Math.sqrt(N));
    expect(Math.abs(m2 - 1)).toBeLessThan(5 * Math.sqrt(2 / N));
    expect(Math.abs(m3 / m2 ** 1.5)).toBeLessThan(5 * Math.sqrt(6 / N));
    expect(Math.abs(m4 / (m2 * m2) - 3)).toBeLessThan(5 * Math.sqrt(24 / N));
  });

  it("tail frequencies beyond 2, 3, 3.44 (the ziggurat's base strip) and 4 σ match Φ within 5 binomial standard errors", () => {
    for (const t of [2, 3, 3.442619855899, 4]) {
      let below = 0;
      let above = 0;
      for (const v of draws) {
        if (v < -t) below++;
        else if (v > t) above++;
      }
      const p = normalCdf(-t);
      const se = Math.sqrt(N * p * (1 - p));
      expect(Math.abs(below - N * p)).toBeLessThan(5 * se + 1);
      expect(Math.abs(above - N * p)).toBeLessThan(5 * se + 1);
    }
  });

  it("fills 128 equal-probability bins evenly: chi-square below its 0.1 % critical value (127 degrees of freedom)", () => {
    const bins = 128;
    const edges = Array.from({ length: bins - 1 }, (_, i) => normalQuantile((i + 1) / bins));
    const counts = new Float64Array(bins);
    for (const v of draws) {
      let lo = 0;
      let hi = bins - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (v < (edges[mid] as number)) hi = mid;
        else lo = mid + 1;
      }
      counts[lo] = (counts[lo] as number) + 1;
    }
    const expected = N / bins;
    let chi2 = 0;
    for (const c of counts) chi2 += (c - expected) ** 2 / expected;
    // χ²(127) upper 0.1 % point ≈ 181.99 (Wilson-Hilferty).
    expect(chi2).toBeLessThan(182);
  });

  it("draws are serially uncorrelated: lags 1, 2, 20 and 21 (one 20-asset draw to the next), and |z| at lag 1", () => {
    const bound = 5 / Math.sqrt(N);
    for (const lag of [1, 2, 20, 21]) {
      let s = 0;
      for (let i = lag; i < N; i++) s += (draws[i] as number) * (draws[i - lag] as number);
      expect(Math.abs(s / (N - lag))).toBeLessThan(bound);
    }
    // Dependence in size (the ziggurat's layer from the low bits, the value from the high bits).
    const meanAbs = Math.sqrt(2 / Math.PI);
    const varAbs = 1 - 2 / Math.PI;
    let s = 0;
    for (let i = 1; i < N; i++)
      s += (Math.abs(draws[i] as number) - meanAbs) * (Math.abs(draws[i - 1] as number) - meanAbs);
    expect(Math.abs(s / (N - 1) / varAbs)).toBeLessThan(bound);
  });

  it("streams of neighbouring seeds are uncorrelated", () => {
    const n = 200_000;
    const a = createRandom(7).fillNormal(new Float64Array(n));
    const b = createRandom(8).fillNormal(new Float64Array(n));
    let s = 0;
    for (let i = 0; i < n; i++) s += (a[i] as number) * (b[i] as number);
    expect(Math.abs(s / n)).toBeLessThan(5 / Math.sqrt(n));
  });
});
