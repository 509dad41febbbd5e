import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expInPlace, weightedExpSums } from "./exp.ts";

/** Relative distance in units of 2⁻⁵² (about one ulp at the value's magnitude). */
function ulps(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b) / Number.EPSILON;
}

describe("expInPlace", () => {
  it("is within 2 ulp of Math.exp on a dense grid over its table's range (−32 … 32)", () => {
    const n = 640_001;
    const x = Float64Array.from({ length: n }, (_, i) => -32 + (64 * i) / (n - 1));
    const ref = x.map(Math.exp);
    expInPlace(x);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, ulps(x[i] as number, ref[i] as number));
    expect(worst).toBeLessThanOrEqual(2);
  });

  it("is within 2 ulp of Math.exp for any double in ±700, and exact at 0 (property)", () => {
    fc.assert(
      fc.property(fc.double({ min: -700, max: 700, noNaN: true }), (v) => {
        const [e] = expInPlace(Float64Array.of(v));
        expect(ulps(e as number, Math.exp(v))).toBeLessThanOrEqual(2);
      }),
      { numRuns: 20_000 },
    );
    expect(expInPlace(Float64Array.of(0, -0))).toEqual(Float64Array.of(1, 1));
  });

  it("hands the ends to Math.exp: overflow, underflow, infinities and NaN", () => {
    const out = expInPlace(Float64Array.of(710, -746, Infinity, -Infinity, Number.NaN, 40, -40));
    expect(Array.from(out.subarray(0, 5))).toEqual([Infinity, 0, Infinity, 0, Number.NaN]);
    expect(out[5]).toBe(Math.exp(40));
    expect(out[6]).toBe(Math.exp(-40));
  });

  it("touches only the first `count` elements", () => {
    const x = Float64Array.of(1, 2, 3);
    expInPlace(x, 2);
    expect(x[2]).toBe(3);
    expect(ulps(x[1] as number, Math.E * Math.E)).toBeLessThanOrEqual(2);
  });
});

describe("weightedExpSums", () => {
  it("gives e^x and e^−x within 2 ulp of Math.exp on a dense grid over the table's range (one value a row)", () => {
    const n = 640_001;
    const x = Float64Array.from({ length: n }, (_, i) => -32 + (64 * i) / (n - 1));
    const one = Float64Array.of(1);
    const sums = weightedExpSums(x, n, one, one, new Float64Array(2 * n));
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const v = x[i] as number;
      worst = Math.max(
        worst,
        ulps(sums[2 * i] as number, Math.exp(v)),
        ulps(sums[2 * i + 1] as number, Math.exp(-v)),
      );
    }
    expect(worst).toBeLessThanOrEqual(2);
  });

  it("sums each row's weighted terms: Σ aᵢe^{xᵢ} and Σ bᵢe^{−xᵢ} within 1e-15 of the sums of Math.exp (property)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.double({ min: -40, max: 40, noNaN: true }),
            fc.double({ min: 0, max: 1, noNaN: true }),
            fc.double({ min: 0, max: 1, noNaN: true }),
          ),
          { minLength: 1, maxLength: 24 },
        ),
        (terms) => {
          const x = Float64Array.from(terms, (t) => t[0]);
          const a = Float64Array.from(terms, (t) => t[1]);
          const b = Float64Array.from(terms, (t) => t[2]);
          const [up, down] = weightedExpSums(x, 1, a, b, new Float64Array(2));
          const refUp = terms.reduce((s, [v, w]) => s + w * Math.exp(v), 0);
          const refDown = terms.reduce((s, [v, , w]) => s + w * Math.exp(-v), 0);
          expect(Math.abs((up as number) - refUp)).toBeLessThanOrEqual(1e-15 * refUp);
          expect(Math.abs((down as number) - refDown)).toBeLessThanOrEqual(1e-15 * refDown);
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it("reads only the first `count` rows and writes only their two sums", () => {
    const sums = Float64Array.of(-1, -1, -1, -1);
    weightedExpSums(Float64Array.of(0, 1, 2, 3), 1, Float64Array.of(1, 1), Float64Array.of(1, 2), sums);
    expect(sums[0]).toBeCloseTo(1 + Math.E, 14);
    expect(sums[1]).toBeCloseTo(1 + 2 / Math.E, 14);
    expect(Array.from(sums.subarray(2))).toEqual([-1, -1]);
  });
});
