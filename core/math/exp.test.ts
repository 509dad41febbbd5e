import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expInPlace } from "./exp.ts";

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
