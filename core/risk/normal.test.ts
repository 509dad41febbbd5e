import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalCdf, normalPdf, normalQuantile } from "./normal.ts";

// Reference values: Φ⁻¹ and Φ to 16 digits from standard tables (scipy.stats.norm.ppf / cdf).
describe("standard normal", () => {
  it("quantile matches reference values to 1e-12", () => {
    expect(normalQuantile(0.95)).toBeCloseTo(1.6448536269514722, 12);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 12);
    expect(normalQuantile(0.99)).toBeCloseTo(2.3263478740408408, 12);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 15);
    expect(normalQuantile(1e-10)).toBeCloseTo(-6.361340902404056, 9);
    expect(normalQuantile(0.05)).toBeCloseTo(-1.6448536269514722, 12);
  });

  it("cdf matches reference values to 1e-14", () => {
    expect(normalCdf(1.96)).toBeCloseTo(0.9750021048517795, 14);
    expect(normalCdf(-1)).toBeCloseTo(0.15865525393145707, 14);
    expect(normalCdf(0)).toBe(0.5);
    expect(normalCdf(-8) / 6.22096057427178e-16).toBeCloseTo(1, 10);
    expect(normalPdf(0)).toBeCloseTo(0.3989422804014327, 15);
  });

  it("quantile inverts the cdf (property, |Φ(Φ⁻¹(p)) − p| ≤ 1e-14 relative)", () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-12, max: 1 - 1e-12, noNaN: true }), (p) => {
        const x = normalQuantile(p);
        const back = p < 0.5 ? normalCdf(x) : 1 - normalCdf(-x);
        expect(Math.abs(back - p)).toBeLessThanOrEqual(
          1e-14 * Math.max(1, Math.abs(p)) + 1e-13 * Math.min(p, 1 - p),
        );
      }),
    );
  });

  it("refuses probabilities outside [0, 1]", () => {
    expect(() => normalQuantile(1.5)).toThrow(/probability in \[0, 1\]/);
    expect(normalQuantile(1)).toBe(Number.POSITIVE_INFINITY);
  });
});
