/**
 * The standard normal distribution: density, distribution function and quantile. Pure and
 * allocation-free; the quantile is what VaR's z-scores come from.
 */

const LN_SQRT_2PI = 0.9189385332046728;

/** Density φ(x). */
export function normalPdf(x: number): number {
  return Math.exp(-0.5 * x * x - LN_SQRT_2PI);
}

/**
 * Distribution function Φ(x), absolute error below 1e-15: Marsaglia's Taylor series (2004) for
 * |x| ≤ 5 and a Lentz continued fraction of the Mills ratio in the tails (relative error ~1e-15).
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < -5) return upperTail(-x);
  if (x > 5) return 1 - upperTail(x);
  let s = x;
  let t = 0;
  let b = x;
  const q = x * x;
  let i = 1;
  while (s !== t) {
    t = s;
    i += 2;
    b *= q / i;
    s = t + b;
  }
  return 0.5 + s * Math.exp(-0.5 * q - LN_SQRT_2PI);
}

/** 1 − Φ(x) for x > 0 via the continued fraction φ(x) / (x + 1/(x + 2/(x + 3/(x + …)))). */
function upperTail(x: number): number {
  if (x === Number.POSITIVE_INFINITY) return 0;
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    d = x + k * d;
    d = d === 0 ? tiny : 1 / d;
    c = x + k / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return normalPdf(x) / f;
}

// Acklam's rational approximation of the normal quantile (relative error < 1.15e-9).
const A = [
  -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
  2.506628277459239,
];
const B = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
const C = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const D = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
const P_LOW = 0.02425;

/**
 * Quantile Φ⁻¹(p) for p in (0, 1): Acklam's approximation polished by one Halley step against
 * {@link normalCdf}, so the result is accurate to ~1e-14 in the body and ~1e-12 relative in the tails.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return Number.NEGATIVE_INFINITY;
    if (p === 1) return Number.POSITIVE_INFINITY;
    throw new RangeError(`normal quantile needs a probability in [0, 1], got ${p}`);
  }
  const [a0, a1, a2, a3, a4, a5] = A as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = B as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = C as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = D as [number, number, number, number];
  let x: number;
  if (p < P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    x =
      (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  } else if (p <= 1 - P_LOW) {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
      (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x =
      -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  // One Halley step: e = Φ(x) − p, u = e / φ(x).
  const e = p < 0.5 ? normalCdf(x) - p : 1 - p - normalCdf(-x);
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp(0.5 * x * x);
  return x - u / (1 + 0.5 * x * u);
}
