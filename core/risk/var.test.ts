import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createRandom } from "../math/random.ts";
import { cholesky, covarianceFrom, matrix } from "./linalg.ts";
import { normalCdf, normalPdf, normalQuantile } from "./normal.ts";
import {
  cornishFisher,
  historicalVar,
  monteCarloVar,
  normalVar,
  parametricNormalVar,
  select,
  BLOCK_PAIRS,
  blockStream,
  simulatePortfolioReturns,
  valueAtRisk,
} from "./var.ts";

const Z99 = 2.3263478740408408;
const Z95 = 1.6448536269514722;

describe("historical VaR", () => {
  // 20 returns: −5 %, −4 %, …, +14 %.
  const series = Array.from({ length: 20 }, (_, i) => (i - 5) / 100);

  it("takes the k-th worst return, k = ⌈n(1−c)⌉, and CVaR the mean of the k worst (exact)", () => {
    const r90 = historicalVar(series, 0.9);
    expect(r90.var).toBeCloseTo(0.04, 15); // k = 2: the 2nd worst is −4 %
    expect(r90.cvar).toBeCloseTo(0.045, 15); // mean of −5 %, −4 %
    const r95 = historicalVar(series, 0.95);
    expect(r95.var).toBeCloseTo(0.05, 15); // k = 1
    expect(r95.cvar).toBeCloseTo(0.05, 15);
    const r75 = historicalVar(series, 0.75);
    expect(r75.var).toBeCloseTo(0.01, 15); // k = 5
    expect(r75.cvar).toBeCloseTo(0.03, 15);
  });

  it("scales by √horizon (square-root-of-time rule)", () => {
    const r = historicalVar(series, 0.9, 4);
    expect(r.var).toBeCloseTo(0.08, 15);
    expect(r.cvar).toBeCloseTo(0.09, 15);
  });

  it("of a weighted portfolio equals historical VaR of the weighted series", () => {
    const rows = [
      [0.01, -0.02],
      [-0.03, 0.01],
      [0.02, 0.0],
      [-0.01, -0.04],
    ];
    const r = valueAtRisk({
      method: "historical",
      returns: rows,
      weights: [0.5, 0.5],
      confidence: 0.75,
      horizon: 1,
    });
    // Portfolio returns: −0.005, −0.01, 0.01, −0.025 → k = 1 → 2.5 %.
    expect(r.var).toBeCloseTo(0.025, 15);
  });
});

describe("parametric VaR", () => {
  it("normal VaR = z·σ·√h with zero mean (tolerance 1e-12)", () => {
    expect(normalVar(0, 0.02, 0.99).var).toBeCloseTo(Z99 * 0.02, 12);
    expect(normalVar(0, 0.02, 0.99, 10).var).toBeCloseTo(Z99 * 0.02 * Math.sqrt(10), 12);
    expect(normalVar(0, 0.03, 0.95, 5).var).toBeCloseTo(Z95 * 0.03 * Math.sqrt(5), 12);
  });

  it("normal CVaR = σ·φ(z)/(1−c) − μ·h", () => {
    const r = normalVar(0.001, 0.02, 0.975, 2);
    const z = 1.959963984540054;
    expect(r.cvar).toBeCloseTo((0.02 * Math.sqrt(2) * normalPdf(z)) / 0.025 - 0.002, 12);
    expect(r.var).toBeCloseTo(z * 0.02 * Math.sqrt(2) - 0.002, 12);
  });

  it("from a series uses its sample mean and standard deviation", () => {
    const x = [0.01, -0.02, 0.015, -0.005, 0.0, 0.02, -0.01];
    const mean = x.reduce((a, b) => a + b, 0) / x.length;
    const sd = Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / (x.length - 1));
    expect(parametricNormalVar(x, 0.99).var).toBeCloseTo(Z99 * sd - mean, 12);
  });

  it("Cornish-Fisher equals the normal one without skew or excess kurtosis", () => {
    const m = { mean: 0.0005, sd: 0.02, skewness: 0, excessKurtosis: 0 };
    const cf = cornishFisher(m, 0.99, 3);
    const n = normalVar(0.0005, 0.02, 0.99, 3);
    expect(cf.var).toBeCloseTo(n.var, 12);
    expect(cf.cvar).toBeCloseTo(n.cvar, 12);
  });

  it("Cornish-Fisher adjusts the quantile for skew and kurtosis (textbook expansion) and its CVaR integrates it", () => {
    const m = { mean: 0, sd: 0.02, skewness: -0.5, excessKurtosis: 3 };
    const c = 0.99;
    const z = normalQuantile(1 - c);
    const S = m.skewness;
    const K = m.excessKurtosis;
    const zcf = (q: number) =>
      q + ((q * q - 1) * S) / 6 + ((q ** 3 - 3 * q) * K) / 24 - ((2 * q ** 3 - 5 * q) * S * S) / 36;
    const r = cornishFisher(m, c);
    expect(r.var).toBeCloseTo(-0.02 * zcf(z), 12);
    expect(r.var).toBeGreaterThan(normalVar(0, 0.02, c).var); // fat left tail → larger VaR
    // Independent reference: CVaR = −σ/(1−c) ∫_{−∞}^{z} zcf(u) φ(u) du by Simpson's rule on [z − 12, z].
    const steps = 20_000;
    const a = z - 12;
    const h = (z - a) / steps;
    let s = 0;
    for (let i = 0; i <= steps; i++) {
      const u = a + i * h;
      const wgt = i === 0 || i === steps ? 1 : i % 2 === 1 ? 4 : 2;
      s += wgt * zcf(u) * normalPdf(u);
    }
    const integral = (s * h) / 3;
    expect(r.cvar).toBeCloseTo((-0.02 * integral) / (1 - c), 10);
  });
});

/**
 * The textbook simulation: per pair, n normal() draws z (pair q from the stream of its block ⌊q/256⌋),
 * x = √h·L·z, paths Σwᵢe^{dᵢ ± xᵢ} − Σw.
 */
function referencePaths(input: Parameters<typeof simulatePortfolioReturns>[0]): number[] {
  const { covariance, horizon, paths } = input;
  const mean = Array.from(input.mean);
  const weights = Array.from(input.weights);
  const n = covariance.n;
  const l = cholesky(covariance).data;
  let draws = blockStream(input.seed, 0);
  const wsum = weights.reduce((a, b) => a + b, 0);
  const drift = mean.map((m, i) => (m - 0.5 * (covariance.data[i * n + i] as number)) * horizon);
  const out: number[] = [];
  while (out.length < paths) {
    if (out.length > 0 && out.length % (2 * BLOCK_PAIRS) === 0)
      draws = blockStream(input.seed, out.length / (2 * BLOCK_PAIRS));
    const z = Array.from({ length: n }, () => draws.normal());
    const x = drift.map(
      (_, i) =>
        Math.sqrt(horizon) * z.reduce((s, zk, k) => (k <= i ? s + (l[i * n + k] as number) * zk : s), 0),
    );
    const up = weights.reduce((s, w, i) => s + w * Math.exp((drift[i] as number) + (x[i] as number)), 0);
    const down = weights.reduce((s, w, i) => s + w * Math.exp((drift[i] as number) - (x[i] as number)), 0);
    out.push(up - wsum, down - wsum);
  }
  return out.slice(0, paths);
}

describe("Monte Carlo VaR", () => {
  const mu = 0.0005;
  const sigma = 0.02;
  const cov = matrix([[sigma * sigma]]);

  it("matches the lognormal closed form for one asset (200,000 paths, tolerance 2 %)", () => {
    const h = 5;
    const r = monteCarloVar({
      mean: [mu],
      covariance: cov,
      weights: [1],
      confidence: 0.99,
      horizon: h,
      paths: 200_000,
      seed: 42,
    });
    const q = (mu - 0.5 * sigma * sigma) * h - Z99 * sigma * Math.sqrt(h);
    const expected = -(Math.exp(q) - 1);
    expect(Math.abs(r.var / expected - 1)).toBeLessThan(0.02);
    // Lognormal expected shortfall: E[R | X ≤ q] = e^{m + s²/2} Φ((q − m − s²)/s) / (1−c) − 1.
    const m = (mu - 0.5 * sigma * sigma) * h;
    const s = sigma * Math.sqrt(h);
    const es = -((Math.exp(m + (s * s) / 2) * normalCdf((q - m - s * s) / s)) / 0.01 - 1);
    expect(Math.abs(r.cvar / es - 1)).toBeLessThan(0.02);
  });

  it("is reproducible for a seed and differs across seeds (property)", () => {
    const cov2 = covarianceFrom(
      [0.02, 0.03],
      matrix([
        [1, 0.4],
        [0.4, 1],
      ]),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (seed) => {
        const input = {
          mean: [0, 0.001],
          covariance: cov2,
          weights: [0.6, 0.4],
          confidence: 0.95,
          horizon: 1,
          paths: 500,
          seed,
        };
        const a = monteCarloVar(input);
        const b = monteCarloVar(input);
        expect(a).toEqual(b);
        expect(monteCarloVar({ ...input, seed: seed + 1 }).var).not.toBe(a.var);
      }),
      { numRuns: 20 },
    );
  });

  it("draws antithetic pairs and fills every path, for odd path counts too", () => {
    const cov2 = covarianceFrom(
      [0.02, 0.03, 0.01],
      matrix([
        [1, 0.4, 0.1],
        [0.4, 1, 0.2],
        [0.1, 0.2, 1],
      ]),
    );
    for (const paths of [1, 2, 3, 5, 7, 2049]) {
      const out = simulatePortfolioReturns({
        mean: [0, 0, 0],
        covariance: cov2,
        weights: [0.3, 0.3, 0.4],
        confidence: 0.9,
        horizon: 1,
        paths,
        seed: 5,
      });
      expect(out).toHaveLength(paths);
      expect(out.every((x) => x !== 0 && Number.isFinite(x))).toBe(true);
    }
    // One asset, zero drift: the antithetic partner of e^{σz} − 1 is e^{−σz} − 1.
    const one = simulatePortfolioReturns({
      mean: [0.5 * 0.0004],
      covariance: matrix([[0.0004]]),
      weights: [1],
      confidence: 0.9,
      horizon: 1,
      paths: 6,
      seed: 9,
    });
    for (let q = 0; q < 3; q++)
      expect((1 + (one[2 * q] as number)) * (1 + (one[2 * q + 1] as number))).toBeCloseTo(1, 14);
  });

  it("equals a plain reference (one normal() per draw, L·z, Math.exp) for any path count and size", () => {
    // The simulation's blocks, eight-draw groups and in-place rows against the textbook loop.
    for (const [n, paths] of [
      [1, 1],
      [3, 17],
      [9, 513],
      [20, 1001],
      [7, 4097],
    ] as const) {
      const rng = createRandom(n * 1000 + paths);
      const vol = Array.from({ length: n }, () => 0.01 + 0.05 * rng.uniform());
      const corr = Array.from({ length: n }, (_, i) =>
        Array.from({ length: n }, (_, j) => (i === j ? 1 : 0.3 + 0.02 * ((i + j) % 5))),
      );
      const input = {
        mean: Array.from({ length: n }, (_, i) => 0.001 * (i - 1)),
        covariance: covarianceFrom(vol, matrix(corr)),
        weights: Array.from({ length: n }, (_, i) => (i % 3) / n),
        confidence: 0.9,
        horizon: 3,
        paths,
        seed: paths,
      };
      const got = simulatePortfolioReturns(input);
      const want = referencePaths(input);
      expect(got).toHaveLength(paths);
      let worst = 0;
      for (let p = 0; p < paths; p++)
        worst = Math.max(worst, Math.abs((got[p] as number) - (want[p] as number)));
      expect(worst).toBeLessThan(1e-13);
    }
  });

  it("refuses a singular covariance matrix with a clear error", () => {
    const singular = matrix([
      [0.0004, 0.0004],
      [0.0004, 0.0004],
    ]);
    expect(() =>
      monteCarloVar({
        mean: [0, 0],
        covariance: singular,
        weights: [0.5, 0.5],
        confidence: 0.99,
        horizon: 1,
        paths: 10,
        seed: 1,
      }),
    ).toThrow(/covariance matrix is not positive definite/);
  });
});

describe("VaR properties", () => {
  const returns = fc.array(fc.double({ min: -0.5, max: 0.5, noNaN: true }), { minLength: 5, maxLength: 300 });
  const confidence = fc.double({ min: 0.5, max: 0.999, noNaN: true });

  it("CVaR ≥ VaR for historical, normal and Monte Carlo", () => {
    fc.assert(
      fc.property(returns, confidence, fc.integer({ min: 1, max: 20 }), (x, c, h) => {
        const hist = historicalVar(x, c, h);
        expect(hist.cvar).toBeGreaterThanOrEqual(hist.var - 1e-12);
        const norm = parametricNormalVar(x, c, h);
        expect(norm.cvar).toBeGreaterThanOrEqual(norm.var - 1e-12);
      }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -0.1, max: 0.1, noNaN: true }), { minLength: 10, maxLength: 50 }),
        confidence,
        (x, c) => {
          // A constant (or numerically constant) series has no covariance to simulate from and is
          // refused by design (tested below); the property is about the series that can be simulated.
          fc.pre(Math.max(...x) - Math.min(...x) > 1e-9);
          const mc = valueAtRisk({
            method: "monte_carlo",
            returns: x,
            confidence: c,
            horizon: 1,
            paths: 400,
            seed: 3,
          });
          expect(mc.cvar).toBeGreaterThanOrEqual(mc.var - 1e-12);
        },
      ),
      { numRuns: 30 },
    );
  });

  it("VaR is non-decreasing in confidence (historical, normal, Monte Carlo with a fixed seed)", () => {
    fc.assert(
      fc.property(returns, confidence, confidence, (x, c1, c2) => {
        const [lo, hi] = c1 <= c2 ? [c1, c2] : [c2, c1];
        const spread = Math.max(...x) - Math.min(...x);
        // Monte Carlo needs a non-singular covariance: a (near-)constant series is refused, as tested below.
        const methods =
          spread > 1e-4
            ? (["historical", "parametric_normal", "monte_carlo"] as const)
            : (["historical", "parametric_normal"] as const);
        for (const method of methods) {
          const a = valueAtRisk({ method, returns: x, confidence: lo, horizon: 1, paths: 300, seed: 9 });
          const b = valueAtRisk({ method, returns: x, confidence: hi, horizon: 1, paths: 300, seed: 9 });
          expect(b.var).toBeGreaterThanOrEqual(a.var - 1e-12);
        }
      }),
      { numRuns: 50 },
    );
  });

  it("select puts the k-th smallest in place (against a full sort)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 200 }),
        fc.nat(),
        (xs, k0) => {
          const a = Float64Array.from(xs);
          const k = k0 % a.length;
          select(a, k);
          const sorted = Float64Array.from(xs).sort();
          expect(a[k]).toBe(sorted[k]);
          for (let i = 0; i < k; i++) expect(a[i]).toBeLessThanOrEqual(a[k] as number);
          for (let i = k + 1; i < a.length; i++) expect(a[i]).toBeGreaterThanOrEqual(a[k] as number);
        },
      ),
    );
  });

  it("refuses a constant series for Monte Carlo (zero variance), a confidence outside (0, 1) and mismatched weights", () => {
    expect(() =>
      valueAtRisk({ method: "monte_carlo", returns: [0.01, 0.01, 0.01], confidence: 0.9, horizon: 1 }),
    ).toThrow(/not positive definite/);
    expect(() => historicalVar([0.01, 0.02], 1)).toThrow(/strictly between 0 and 1/);
    expect(() =>
      valueAtRisk({ method: "historical", returns: [[0.1, 0.2]], weights: [1], confidence: 0.9, horizon: 1 }),
    ).toThrow(/1 weights for 2 assets/);
  });
});
