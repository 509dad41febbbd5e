import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { covarianceFrom, matrix } from "./linalg.ts";
import { simulatePaths } from "./montecarlo.ts";

const common = { initialValue: 1000, seed: 11, drawdownThreshold: 0.2, percentiles: [5, 50, 95] };

describe("Monte Carlo paths", () => {
  it("bootstrap of a constant history is deterministic: terminal (1 + r)^steps, drawdown 1 − 0.9^k", () => {
    const up = simulatePaths({
      ...common,
      model: "bootstrap",
      weights: [1],
      history: [[0.01]],
      blockLength: 1,
      steps: 10,
      paths: 50,
    });
    for (const t of up.terminal) expect(t.value).toBeCloseTo(1000 * 1.01 ** 10, 9);
    expect(up.probabilityOfDrawdown).toBe(0);
    const down = simulatePaths({
      ...common,
      model: "bootstrap",
      weights: [1],
      history: [[-0.1]],
      blockLength: 1,
      steps: 3,
      paths: 20,
    });
    expect(down.meanMaxDrawdown).toBeCloseTo(1 - 0.9 ** 3, 12);
    expect(down.probabilityOfDrawdown).toBe(1); // 27.1 % > 20 %
    expect(down.probabilityOfLoss).toBe(1);
  });

  it("keeps the uninvested share in cash", () => {
    const r = simulatePaths({
      ...common,
      model: "bootstrap",
      weights: [0.5],
      history: [[-0.5]],
      blockLength: 1,
      steps: 1,
      paths: 5,
    });
    expect(r.meanTerminal).toBeCloseTo(750, 9);
  });

  it("GBM mean terminal value matches E = V₀·Σ wᵢ(1 + μᵢ)^T (40,000 paths, within 4 standard errors)", () => {
    const cov = covarianceFrom(
      [0.01, 0.015],
      matrix([
        [1, 0.5],
        [0.5, 1],
      ]),
    );
    const steps = 20;
    const r = simulatePaths({
      ...common,
      model: "gbm",
      weights: [0.6, 0.4],
      mean: [0.001, 0.002],
      covariance: cov,
      steps,
      paths: 40_000,
    });
    const expected = 1000 * (0.6 * 1.001 ** steps + 0.4 * 1.002 ** steps);
    // sd of terminal value ≈ V₀·σ_p·√T ≈ 1000 · 0.0113 · √20 ≈ 51; standard error ≈ 0.25.
    expect(Math.abs(r.meanTerminal - expected)).toBeLessThan(4 * 0.26);
    const [p5, p50, p95] = r.terminal.map((t) => t.value) as [number, number, number];
    expect(p5).toBeLessThan(p50);
    expect(p50).toBeLessThan(p95);
  });

  it("is reproducible for a seed (property) for both models", () => {
    const cov = covarianceFrom(
      [0.02, 0.03],
      matrix([
        [1, -0.3],
        [-0.3, 1],
      ]),
    );
    const history = [
      [0.01, -0.02],
      [-0.03, 0.01],
      [0.02, 0.005],
    ];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), (seed) => {
        const gbm = {
          ...common,
          seed,
          model: "gbm" as const,
          weights: [0.5, 0.5],
          mean: [0, 0],
          covariance: cov,
          steps: 10,
          paths: 200,
        };
        expect(simulatePaths(gbm)).toEqual(simulatePaths(gbm));
        const boot = {
          ...common,
          seed,
          model: "bootstrap" as const,
          weights: [0.5, 0.5],
          history,
          blockLength: 2,
          steps: 10,
          paths: 200,
        };
        expect(simulatePaths(boot)).toEqual(simulatePaths(boot));
      }),
      { numRuns: 20 },
    );
  });

  it("refuses a singular covariance and a bad block length", () => {
    const singular = matrix([
      [1, 1],
      [1, 1],
    ]);
    expect(() =>
      simulatePaths({
        ...common,
        model: "gbm",
        weights: [0.5, 0.5],
        mean: [0, 0],
        covariance: singular,
        steps: 1,
        paths: 1,
      }),
    ).toThrow(/not positive definite/);
    expect(() =>
      simulatePaths({
        ...common,
        model: "bootstrap",
        weights: [1],
        history: [[0.1]],
        blockLength: 2,
        steps: 1,
        paths: 1,
      }),
    ).toThrow(/block length must be an integer in \[1, 1\]/);
  });
});
