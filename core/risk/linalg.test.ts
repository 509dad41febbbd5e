import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cholesky, choleskySolve, correlationOf, covariance, matrix, mulVec, toRows } from "./linalg.ts";
import { createRandom } from "../math/random.ts";
import { normalCdf } from "./normal.ts";

/** A random symmetric positive definite matrix A·Aᵀ + εI. */
const spd = (n: number, seed: number) => {
  const rng = createRandom(seed);
  const a = Array.from({ length: n }, () => Array.from({ length: n }, () => rng.normal()));
  return matrix(
    a.map((ri, i) =>
      a.map((rj, j) => ri.reduce((s, v, k) => s + v * (rj[k] as number), 0) + (i === j ? 0.1 : 0)),
    ),
  );
};

describe("Cholesky", () => {
  it("factors a known matrix exactly", () => {
    const l = cholesky(
      matrix([
        [4, 12, -16],
        [12, 37, -43],
        [-16, -43, 98],
      ]),
    );
    expect(toRows(l)).toEqual([
      [2, 0, 0],
      [6, 1, 0],
      [-8, 5, 3],
    ]);
  });

  it("L·Lᵀ reproduces random SPD matrices and solves A·x = b (property, tolerance 1e-9 relative)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer(), (n, seed) => {
        const a = spd(n, seed);
        const l = cholesky(a);
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let k = 0; k < n; k++) s += (l.data[i * n + k] as number) * (l.data[j * n + k] as number);
            expect(Math.abs(s - (a.data[i * n + j] as number))).toBeLessThan(
              1e-9 * (1 + Math.abs(a.data[i * n + j] as number)),
            );
          }
        }
        const b = Array.from({ length: n }, (_, i) => i + 1);
        const x = choleskySolve(l, b);
        const back = mulVec(a, x);
        for (let i = 0; i < n; i++) expect(back[i]).toBeCloseTo(b[i] as number, 6);
      }),
      { numRuns: 50 },
    );
  });

  it("names a singular, an indefinite and an asymmetric matrix", () => {
    expect(() =>
      cholesky(
        matrix([
          [1, 1],
          [1, 1],
        ]),
        "covariance matrix",
      ),
    ).toThrow(/covariance matrix is not positive definite \(singular or indefinite\): pivot 1/);
    expect(() =>
      cholesky(
        matrix([
          [1, 2],
          [2, 1],
        ]),
      ),
    ).toThrow(/not positive definite/);
    expect(() =>
      cholesky(
        matrix([
          [1, 0.5],
          [0.2, 1],
        ]),
      ),
    ).toThrow(/not symmetric at \(1, 0\)/);
  });

  it("covariance and correlation of a hand-made series", () => {
    const rows = [
      [1, 2],
      [2, 4],
      [3, 6],
    ];
    const c = covariance(rows, 2);
    expect(toRows(c)).toEqual([
      [1, 2],
      [2, 4],
    ]);
    expect(toRows(correlationOf(c))).toEqual([
      [1, 1],
      [1, 1],
    ]);
  });
});

describe("seeded random", () => {
  it("repeats a stream for a seed", () => {
    const a = createRandom(123);
    const b = createRandom(123);
    const c = createRandom(124);
    const xs = Array.from({ length: 100 }, () => a.uniform());
    expect(Array.from({ length: 100 }, () => b.uniform())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.uniform())).not.toEqual(xs);
  });

  it("normals have mean 0 and variance 1 (200,000 draws, 5-sigma bounds) and pass Kolmogorov-Smirnov at 1 %", () => {
    const n = 200_000;
    const x = createRandom(2024).fillNormal(new Float64Array(n));
    let m = 0;
    for (const v of x) m += v;
    m /= n;
    let v2 = 0;
    for (const v of x) v2 += (v - m) ** 2;
    v2 /= n - 1;
    expect(Math.abs(m)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(v2 - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    x.sort();
    let d = 0;
    for (let i = 0; i < n; i++) {
      const f = normalCdf(x[i] as number);
      d = Math.max(d, Math.abs(f - i / n), Math.abs((i + 1) / n - f));
    }
    expect(d).toBeLessThan(1.628 / Math.sqrt(n));
  });

  it("uniforms lie in [0, 1) and int(n) in [0, n)", () => {
    const r = createRandom(5);
    let bad = 0;
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70_000; i++) {
      const u = r.uniform();
      if (!(u >= 0 && u < 1)) bad++;
      const k = r.int(7);
      if (!(Number.isInteger(k) && k >= 0 && k < 7)) bad++;
      else counts[k]++;
    }
    expect(bad).toBe(0);
    // Each bucket expects 10,000 draws; 5 standard deviations is ±463.
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(463);
  });
});
