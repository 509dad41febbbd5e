import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { covarianceFrom, matrix, type Matrix } from "./linalg.ts";
import { optimizePortfolio, projectCappedSimplex } from "./optimize.ts";
import { createRandom } from "../math/random.ts";

const longOnly = (n: number) => ({ lower: new Array(n).fill(0), upper: new Array(n).fill(1) });

function randomCovariance(n: number, seed: number): Matrix {
  const rng = createRandom(seed);
  const vol = Array.from({ length: n }, () => 0.05 + 0.3 * rng.uniform());
  const factors = Array.from({ length: n }, () => [rng.normal(), rng.normal()]);
  const corr = factors.map((a, i) =>
    factors.map((b, j) => {
      if (i === j) return 1;
      const na = Math.hypot(a[0] as number, a[1] as number, 1);
      const nb = Math.hypot(b[0] as number, b[1] as number, 1);
      return ((a[0] as number) * (b[0] as number) + (a[1] as number) * (b[1] as number)) / (na * nb);
    }),
  );
  return covarianceFrom(vol, matrix(corr));
}

describe("minimum variance", () => {
  it("two assets: w₁ = (σ₂² − ρσ₁σ₂)/(σ₁² + σ₂² − 2ρσ₁σ₂) (tolerance 1e-10)", () => {
    for (const [s1, s2, rho] of [
      [0.2, 0.3, 0.25],
      [0.1, 0.4, -0.5],
      [0.25, 0.25, 0.9],
    ] as const) {
      const r = optimizePortfolio({
        objective: "min_variance",
        covariance: covarianceFrom(
          [s1, s2],
          matrix([
            [1, rho],
            [rho, 1],
          ]),
        ),
        ...longOnly(2),
      });
      const w1 = (s2 * s2 - rho * s1 * s2) / (s1 * s1 + s2 * s2 - 2 * rho * s1 * s2);
      expect(r.weights[0]).toBeCloseTo(w1, 10);
      expect(r.weights[1]).toBeCloseTo(1 - w1, 10);
      expect(r.binding).toEqual([]);
      expect(r.converged).toBe(true);
    }
  });

  it("hits the long-only bound when the closed form would short, and reports it", () => {
    // ρ = 0.9 with σ₂ ≫ σ₁: the unconstrained optimum shorts asset 2.
    const r = optimizePortfolio({
      objective: "min_variance",
      covariance: covarianceFrom(
        [0.1, 0.3],
        matrix([
          [1, 0.9],
          [0.9, 1],
        ]),
      ),
      ...longOnly(2),
    });
    expect(r.weights).toEqual([1, 0]);
    expect(r.binding).toEqual([
      { index: 0, bound: "upper", value: 1 },
      { index: 1, bound: "lower", value: 0 },
    ]);
  });

  it("respects a per-asset cap exactly (uncorrelated: w ∝ 1/σ² on the free assets)", () => {
    const cov = covarianceFrom(
      [0.1, 0.2, 0.3],
      matrix([
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ]),
    );
    const r = optimizePortfolio({
      objective: "min_variance",
      covariance: cov,
      lower: [0, 0, 0],
      upper: [0.5, 1, 1],
    });
    expect(r.weights[0]).toBeCloseTo(0.5, 12);
    // The other two split 0.5 in proportion 1/0.04 : 1/0.09.
    expect(r.weights[1]).toBeCloseTo((0.5 * 25) / (25 + 100 / 9), 10);
    expect(r.binding).toEqual([{ index: 0, bound: "upper", value: 0.5 }]);
  });
});

describe("maximum Sharpe", () => {
  it("unconstrained by its bounds it is the tangency portfolio Σ⁻¹(μ − r_f) normalised (tolerance 1e-9)", () => {
    const s1 = 0.2;
    const s2 = 0.3;
    const rho = 0.25;
    const cov = covarianceFrom(
      [s1, s2],
      matrix([
        [1, rho],
        [rho, 1],
      ]),
    );
    const r = optimizePortfolio({
      objective: "max_sharpe",
      covariance: cov,
      mean: [0.1, 0.15],
      riskFree: 0.02,
      ...longOnly(2),
    });
    const e = [0.08, 0.13];
    const a = s1 * s1;
    const b = rho * s1 * s2;
    const d = s2 * s2;
    const x0 = d * (e[0] as number) - b * (e[1] as number);
    const x1 = -b * (e[0] as number) + a * (e[1] as number);
    expect(r.weights[0]).toBeCloseTo(x0 / (x0 + x1), 9);
    expect(r.sharpe).toBeCloseTo((r.expectedReturn - 0.02) / r.volatility, 12);
  });

  it("no portfolio within the bounds beats it (random feasible portfolios)", () => {
    const cov = randomCovariance(5, 77);
    const mean = [0.05, 0.08, 0.12, 0.03, 0.1];
    const bounds = { lower: [0, 0, 0, 0, 0], upper: [0.4, 0.4, 0.4, 0.4, 0.4] };
    const r = optimizePortfolio({
      objective: "max_sharpe",
      covariance: cov,
      mean,
      riskFree: 0.01,
      ...bounds,
    });
    const rng = createRandom(1);
    for (let k = 0; k < 2000; k++) {
      const w = projectCappedSimplex(
        Array.from({ length: 5 }, () => rng.uniform()),
        bounds,
      );
      let m = 0;
      let v = 0;
      for (let i = 0; i < 5; i++) {
        m += (mean[i] as number) * (w[i] as number);
        for (let j = 0; j < 5; j++)
          v += (w[i] as number) * (cov.data[i * 5 + j] as number) * (w[j] as number);
      }
      expect((m - 0.01) / Math.sqrt(v)).toBeLessThanOrEqual(r.sharpe + 1e-9);
    }
  });

  it("refuses when nothing beats the risk-free rate", () => {
    const cov = covarianceFrom(
      [0.2, 0.3],
      matrix([
        [1, 0],
        [0, 1],
      ]),
    );
    expect(() =>
      optimizePortfolio({
        objective: "max_sharpe",
        covariance: cov,
        mean: [0.01, 0.02],
        riskFree: 0.05,
        ...longOnly(2),
      }),
    ).toThrow(/risk-free rate/);
  });
});

describe("risk parity", () => {
  it("equal-volatility uncorrelated assets get equal weights", () => {
    const n = 4;
    const cov = covarianceFrom(
      [0.2, 0.2, 0.2, 0.2],
      matrix(Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)))),
    );
    const r = optimizePortfolio({ objective: "risk_parity", covariance: cov, ...longOnly(n) });
    for (const w of r.weights) expect(w).toBeCloseTo(0.25, 12);
    for (const c of r.riskContributions) expect(c).toBeCloseTo(0.25, 12);
  });

  it("two assets with any correlation: w ∝ 1/σ (tolerance 1e-10)", () => {
    const cov = covarianceFrom(
      [0.1, 0.4],
      matrix([
        [1, 0.6],
        [0.6, 1],
      ]),
    );
    const r = optimizePortfolio({ objective: "risk_parity", covariance: cov, ...longOnly(2) });
    expect(r.weights[0]).toBeCloseTo(0.8, 10);
    expect(r.riskContributions[0]).toBeCloseTo(0.5, 10);
  });

  it("equalises risk contributions of random portfolios (tolerance 1e-8)", () => {
    const cov = randomCovariance(8, 3);
    const r = optimizePortfolio({ objective: "risk_parity", covariance: cov, ...longOnly(8) });
    for (const c of r.riskContributions) expect(c).toBeCloseTo(1 / 8, 8);
  });

  it("with a binding cap it stays within the bounds and reports the cap", () => {
    const cov = covarianceFrom(
      [0.1, 0.2, 0.4],
      matrix([
        [1, 0.3, 0.1],
        [0.3, 1, 0.2],
        [0.1, 0.2, 1],
      ]),
    );
    const r = optimizePortfolio({
      objective: "risk_parity",
      covariance: cov,
      lower: [0, 0, 0],
      upper: [0.4, 1, 1],
    });
    expect(r.weights[0]).toBeCloseTo(0.4, 12);
    expect(r.binding).toEqual([{ index: 0, bound: "upper", value: 0.4 }]);
  });
});

describe("optimiser properties", () => {
  it("weights sum to 1 and respect the bounds, for every objective (random covariances and bounds)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 8 }),
        fc.integer(),
        fc.double({ min: 0.15, max: 1, noNaN: true }),
        (n, seed, capRaw) => {
          const cap = Math.max(capRaw, 1 / n + 0.01);
          const cov = randomCovariance(n, seed);
          const mean = Array.from({ length: n }, (_, i) => 0.02 + 0.01 * i);
          const lower = new Array(n).fill(0);
          const upper = new Array(n).fill(cap);
          const r = optimizePortfolio({ objective: "min_variance", covariance: cov, mean, lower, upper });
          for (const objective of ["min_variance", "max_sharpe", "risk_parity"] as const) {
            const res =
              objective === "min_variance"
                ? r
                : optimizePortfolio({ objective, covariance: cov, mean, lower, upper });
            expect(res.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
            for (const w of res.weights) {
              expect(w).toBeGreaterThanOrEqual(-1e-12);
              expect(w).toBeLessThanOrEqual(cap + 1e-12);
            }
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("minimum variance is no worse than any random feasible portfolio", () => {
    const cov = randomCovariance(6, 21);
    const bounds = { lower: new Array(6).fill(0.05), upper: new Array(6).fill(0.3) };
    const r = optimizePortfolio({ objective: "min_variance", covariance: cov, ...bounds });
    const rng = createRandom(2);
    for (let k = 0; k < 2000; k++) {
      const w = projectCappedSimplex(
        Array.from({ length: 6 }, () => rng.uniform()),
        bounds,
      );
      let v = 0;
      for (let i = 0; i < 6; i++)
        for (let j = 0; j < 6; j++)
          v += (w[i] as number) * (cov.data[i * 6 + j] as number) * (w[j] as number);
      expect(Math.sqrt(v)).toBeGreaterThanOrEqual(r.volatility - 1e-12);
    }
  });

  it("refuses infeasible bounds", () => {
    const cov = randomCovariance(3, 1);
    expect(() =>
      optimizePortfolio({
        objective: "min_variance",
        covariance: cov,
        lower: [0, 0, 0],
        upper: [0.2, 0.2, 0.2],
      }),
    ).toThrow(/no weights summing to 1 fit the bounds/);
  });
});
