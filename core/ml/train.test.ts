import { describe, expect, it } from "vitest";
import { auc, classificationMetrics, logLoss } from "./metrics.ts";
import { syntheticBars } from "./synthetic.ts";
import { trainOnBars } from "./train.ts";

/**
 * Held-out validation rows: 6 000 bars × 0.25 ≈ 1 490 rows. Under the null (no signal) AUC has a
 * standard deviation of about √((n+1)/(12 n₊ n₋)) ≈ 0.015 and accuracy about 0.013, so "beats chance"
 * is AUC > 0.56 (4σ) and "does not" is |AUC − 0.5| < 0.05 and accuracy < 0.55.
 */
const planted = syntheticBars({ bars: 6_000, seed: "planted", phi: 0.3 }).bars;
const noise = syntheticBars({ bars: 6_000, seed: "noise", phi: 0 }).bars;

describe("training on features", () => {
  for (const kind of ["logistic", "mlp"] as const) {
    it(`${kind}: beats chance on held-out data with a planted signal, not on noise`, () => {
      const signal = trainOnBars(planted, { kind, seed: 1 });
      expect(signal.metrics.validation.auc).toBeGreaterThan(0.56);
      expect(signal.metrics.validation.accuracy).toBeGreaterThan(0.55);
      // Better than the constant base-rate forecast's log loss.
      const base = signal.metrics.validation.positiveRate;
      const baseLoss = -(base * Math.log(base) + (1 - base) * Math.log(1 - base));
      expect(signal.metrics.validation.logLoss).toBeLessThan(baseLoss);

      const none = trainOnBars(noise, { kind, seed: 1 });
      expect(Math.abs(none.metrics.validation.auc - 0.5)).toBeLessThan(0.05);
      expect(none.metrics.validation.accuracy).toBeLessThan(0.55);
    });
  }

  it("refuses a series too short to train on", () => {
    expect(() => trainOnBars(planted.slice(0, 80), { kind: "logistic" })).toThrow(/not enough bars/);
  });
});

describe("metrics", () => {
  it("computes AUC by ranks with ties counted half, and log loss in closed form", () => {
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 15);
    expect(auc([0.5, 0.5], [0, 1])).toBe(0.5);
    expect(auc([0.2, 0.9], [1, 1])).toBe(0.5);
    expect(logLoss([0.8, 0.3], [1, 0])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7)) / 2, 15);
    expect(classificationMetrics([0.6, 0.4, 0.7], [1, 1, 0])).toMatchObject({ accuracy: 1 / 3, n: 3 });
  });
});
