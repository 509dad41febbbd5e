import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { kelly } from "./kelly.ts";

const base = { multiplier: 1, maxPositionSize: 1 };

/** Growth-optimal fraction by brute force: the independent reference for the closed form. */
function gridArgmax(p: number, w: number, l: number): number {
  let best = 0;
  let bestG = 0;
  for (let f = 0; f < 1 / -l; f += 1e-5) {
    const g = p * Math.log1p(f * w) + (1 - p) * Math.log1p(f * l);
    if (g > bestG) {
      bestG = g;
      best = f;
    }
  }
  return best;
}

describe("kelly", () => {
  it("p = 0.6, even money → full Kelly 0.2 (tolerance 1e-15)", () => {
    const r = kelly({ winProbability: 0.6, winReturn: 1, lossReturn: -1, ...base });
    expect(r.fullKelly).toBeCloseTo(0.2, 15);
    expect(r.edge).toBeCloseTo(0.2, 15);
    expect(r.positionSize).toBeCloseTo(0.2, 15);
    expect(r.cappedBy).toBeNull();
  });

  it("asymmetric payoffs: p = 0.5, win +2, lose −1 → 0.25; p = 0.4, win +0.5, lose −0.25 → 0.4", () => {
    expect(kelly({ winProbability: 0.5, winReturn: 2, lossReturn: -1, ...base }).fullKelly).toBeCloseTo(
      0.25,
      15,
    );
    const r = kelly({
      winProbability: 0.4,
      winReturn: 0.5,
      lossReturn: -0.25,
      multiplier: 1,
      maxPositionSize: 10,
    });
    expect(r.fullKelly).toBeCloseTo(0.4, 14);
  });

  it("the closed form is the growth-optimal fraction (grid search reference, tolerance 1e-4)", () => {
    for (const [p, w, l] of [
      [0.55, 1.5, -1],
      [0.3, 3, -0.8],
      [0.7, 0.4, -0.5],
    ] as const) {
      const r = kelly({ winProbability: p, winReturn: w, lossReturn: l, multiplier: 1, maxPositionSize: 10 });
      expect(Math.abs(r.fullKelly - gridArgmax(p, w, l))).toBeLessThan(1e-4);
    }
  });

  it("applies the fractional multiplier, then the MAX_POSITION_SIZE cap, and says why", () => {
    const r = kelly({
      winProbability: 0.6,
      winReturn: 1,
      lossReturn: -1,
      multiplier: 0.25,
      maxPositionSize: 0.02,
    });
    expect(r.fractionalKelly).toBeCloseTo(0.05, 15);
    expect(r.positionSize).toBe(0.02);
    expect(r.cappedBy).toBe("max_position_size");
    expect(r.reason).toMatch(/capped at MAX_POSITION_SIZE 0.02/);
    const small = kelly({
      winProbability: 0.51,
      winReturn: 1,
      lossReturn: -1,
      multiplier: 0.5,
      maxPositionSize: 0.02,
    });
    expect(small.positionSize).toBeCloseTo(0.01, 15);
    expect(small.cappedBy).toBeNull();
  });

  it("a negative edge sizes to zero", () => {
    const r = kelly({ winProbability: 0.4, winReturn: 1, lossReturn: -1, ...base });
    expect(r.fullKelly).toBeCloseTo(-0.2, 15);
    expect(r.positionSize).toBe(0);
    expect(r.cappedBy).toBe("negative_edge");
    expect(r.expectedLogGrowth).toBe(0);
  });

  it("refuses nonsense with a precise message", () => {
    expect(() => kelly({ winProbability: 1.2, winReturn: 1, lossReturn: -1, ...base })).toThrow(
      /\[0, 1\], got 1.2/,
    );
    expect(() => kelly({ winProbability: 0.5, winReturn: 1, lossReturn: 0.5, ...base })).toThrow(
      /loss return/,
    );
    expect(() => kelly({ winProbability: 0.5, winReturn: -1, lossReturn: -1, ...base })).toThrow(
      /win return/,
    );
    expect(() =>
      kelly({ winProbability: 0.5, winReturn: 1, lossReturn: -1, multiplier: 0, maxPositionSize: 1 }),
    ).toThrow(/multiplier/);
  });

  it("size is always within [0, cap] (property)", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0.01, max: 10, noNaN: true }),
        fc.double({ min: -1, max: -0.01, noNaN: true }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.double({ min: 0.001, max: 1, noNaN: true }),
        (p, w, l, m, cap) => {
          const r = kelly({
            winProbability: p,
            winReturn: w,
            lossReturn: l,
            multiplier: m,
            maxPositionSize: cap,
          });
          expect(r.positionSize).toBeGreaterThanOrEqual(0);
          expect(r.positionSize).toBeLessThanOrEqual(cap);
          if (r.edge <= 0) expect(r.positionSize).toBe(0);
        },
      ),
    );
  });
});
