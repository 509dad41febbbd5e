import { describe, expect, it } from "vitest";
import { createRandom } from "../math/random.ts";
import { filterStep, fitHmm, posteriors, regimeObservations, viterbi } from "./hmm.ts";
import { syntheticBars } from "./synthetic.ts";

describe("Gaussian HMM", () => {
  it("recovers planted volatility regimes of a synthetic bar series with ≥ 90% accuracy", () => {
    const { bars, regimes } = syntheticBars({
      bars: 3_000,
      seed: "hmm",
      sigmas: [0.004, 0.016],
      stay: 0.985,
    });
    const obs = regimeObservations(bars);
    const truth = regimes.slice(1);
    const fit = fitHmm(obs, { states: 2 });
    const path = viterbi(fit.model, obs);
    const hits = path.filter((s, t) => s === truth[t]).length;
    expect(hits / path.length).toBeGreaterThan(0.9);
    // The fitted volatility of returns (dimension 0) recovers the planted sigmas within 15%.
    expect(Math.sqrt(fit.model.variances[0] as number)).toBeGreaterThan(0.004 * 0.85);
    expect(Math.sqrt(fit.model.variances[0] as number)).toBeLessThan(0.004 * 1.15);
    expect(Math.sqrt(fit.model.variances[2] as number)).toBeGreaterThan(0.016 * 0.85);
    expect(Math.sqrt(fit.model.variances[2] as number)).toBeLessThan(0.016 * 1.15);
    // Self-transition probabilities near the planted 0.985.
    expect(fit.model.transition[0]).toBeGreaterThan(0.95);
    expect(fit.model.transition[3]).toBeGreaterThan(0.95);
  });

  it("recovers the means and variances of a one-dimensional two-state series (closed form)", () => {
    const rng = createRandom(7);
    const obs: number[][] = [];
    const truth: number[] = [];
    let s = 0;
    for (let t = 0; t < 4_000; t++) {
      if (rng.uniform() > 0.97) s = 1 - s;
      truth.push(s);
      obs.push([s === 0 ? -1 + 0.5 * rng.normal() : 2 + 0.5 * rng.normal()]);
    }
    const fit = fitHmm(obs, { states: 2 });
    expect(fit.converged).toBe(true);
    expect(fit.model.means[0]).toBeCloseTo(-1, 1);
    expect(fit.model.means[1]).toBeCloseTo(2, 1);
    expect(Math.sqrt(fit.model.variances[0] as number)).toBeCloseTo(0.5, 1);
    const path = viterbi(fit.model, obs);
    expect(path.filter((p, t) => p === truth[t]).length / path.length).toBeGreaterThan(0.99);
    const post = posteriors(fit.model, obs);
    expect(post.every((row) => Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-9)).toBe(true);
    // The forward filter, run to the end, equals the smoothed posterior at the last step.
    let f: number[] | undefined;
    for (const o of obs) f = filterStep(fit.model, f, o);
    expect(f?.[0]).toBeCloseTo(post.at(-1)?.[0] as number, 9);
  });

  it("refuses a fit with too few observations", () => {
    expect(() => fitHmm([[1], [2]], { states: 2 })).toThrow(/at least 20 observations/);
  });
});
