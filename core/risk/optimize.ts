import {
  cholesky,
  choleskySolve,
  LinearAlgebraError,
  type Matrix,
  mulVec,
  quadForm,
  subMatrix,
} from "./linalg.ts";
import { RiskInputError } from "./var.ts";

/**
 * Portfolio weights that sum to one within per-asset bounds [lowerᵢ, upperᵢ] (long-only: lower = 0):
 *
 * - min_variance: minimise wᵀΣw.
 * - max_sharpe: maximise (μᵀw − r_f)/√(wᵀΣw); needs an asset that beats the risk-free rate.
 * - risk_parity: every asset contributes its budget bᵢ (equal by default) of the variance,
 *   wᵢ(Σw)ᵢ / wᵀΣw = bᵢ. Without binding bounds this is Spinu's convex problem solved by cyclical
 *   coordinate descent; when the bounds bind it minimises Σ(contributionᵢ − bᵢ)² over the bounds.
 *
 * The solver is accelerated projected gradient (projection onto the capped simplex by bisection),
 * followed by an active-set polish: with the assets at a bound held there, the KKT system of the free
 * assets is solved exactly, and kept when it is feasible and no worse. The result names the binding bounds.
 */
export const Objectives = ["min_variance", "max_sharpe", "risk_parity"] as const;
export type Objective = (typeof Objectives)[number];

export interface OptimizeInput {
  objective: Objective;
  covariance: Matrix;
  /** Expected return per period of each asset (required for max_sharpe). */
  mean?: ArrayLike<number>;
  lower: ArrayLike<number>;
  upper: ArrayLike<number>;
  riskFree?: number;
  /** Risk budgets for risk_parity (positive, normalised to sum 1); equal when absent. */
  riskBudget?: ArrayLike<number>;
  maxIterations?: number;
}

export interface BindingConstraint {
  index: number;
  bound: "lower" | "upper";
  value: number;
}

export interface OptimizeResult {
  objective: Objective;
  weights: number[];
  expectedReturn: number;
  volatility: number;
  sharpe: number;
  /** Each asset's share of the portfolio variance (sums to 1). */
  riskContributions: number[];
  binding: BindingConstraint[];
  iterations: number;
  converged: boolean;
}

const BOUND_TOL = 1e-9;

export function optimizePortfolio(input: OptimizeInput): OptimizeResult {
  const { covariance: cov, objective } = input;
  const n = cov.n;
  if (n === 0) throw new RiskInputError("need at least one asset");
  const lower = Float64Array.from(input.lower);
  const upper = Float64Array.from(input.upper);
  if (lower.length !== n || upper.length !== n) {
    throw new RiskInputError(`${lower.length} lower and ${upper.length} upper bounds for ${n} assets`);
  }
  let sumLo = 0;
  let sumHi = 0;
  for (let i = 0; i < n; i++) {
    const lo = lower[i] as number;
    const hi = upper[i] as number;
    if (!(lo <= hi) || !Number.isFinite(lo) || !Number.isFinite(hi)) {
      throw new RiskInputError(`asset ${i}: bounds [${lo}, ${hi}] are not a finite interval`);
    }
    sumLo += lo;
    sumHi += hi;
  }
  if (sumLo > 1 + 1e-12 || sumHi < 1 - 1e-12) {
    throw new RiskInputError(
      `no weights summing to 1 fit the bounds (lower sum ${sumLo}, upper sum ${sumHi})`,
    );
  }
  for (let i = 0; i < n; i++) {
    if (!((cov.data[i * n + i] as number) >= 0))
      throw new RiskInputError(`asset ${i} has a negative variance`);
  }
  const mean = input.mean === undefined ? new Float64Array(n) : Float64Array.from(input.mean);
  if (mean.length !== n) throw new RiskInputError(`${mean.length} expected returns for ${n} assets`);
  const riskFree = input.riskFree ?? 0;
  const maxIterations = input.maxIterations ?? 20_000;
  const box: Box = { lower, upper };

  let solved: { w: Float64Array; iterations: number; converged: boolean };
  switch (objective) {
    case "min_variance":
      solved = minVariance(cov, box, maxIterations);
      break;
    case "max_sharpe":
      solved = maxSharpe(cov, mean, riskFree, box, maxIterations);
      break;
    case "risk_parity":
      solved = riskParity(cov, budgets(input.riskBudget, n), box, maxIterations);
      break;
  }
  return describe(objective, solved.w, cov, mean, riskFree, box, solved.iterations, solved.converged);
}

interface Box {
  lower: ArrayLike<number>;
  upper: ArrayLike<number>;
}

function budgets(raw: ArrayLike<number> | undefined, n: number): Float64Array {
  const b = raw === undefined ? new Float64Array(n).fill(1) : Float64Array.from(raw);
  if (b.length !== n) throw new RiskInputError(`${b.length} risk budgets for ${n} assets`);
  let s = 0;
  for (const x of b) {
    if (!(x > 0)) throw new RiskInputError(`risk budgets must be positive, got ${x}`);
    s += x;
  }
  return b.map((x) => x / s);
}

/** Euclidean projection of y onto {Σw = 1, lower ≤ w ≤ upper}: w = clip(y − λ) with λ by bisection. */
export function projectCappedSimplex(
  y: ArrayLike<number>,
  box: Box,
  out = new Float64Array(y.length),
): Float64Array {
  const n = y.length;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    lo = Math.min(lo, (y[i] as number) - (box.upper[i] as number));
    hi = Math.max(hi, (y[i] as number) - (box.lower[i] as number));
  }
  const total = (lambda: number): number => {
    let s = 0;
    for (let i = 0; i < n; i++)
      s += clip((y[i] as number) - lambda, box.lower[i] as number, box.upper[i] as number);
    return s;
  };
  for (let k = 0; k < 200 && hi - lo > 1e-16 * Math.max(1, Math.abs(lo), Math.abs(hi)); k++) {
    const mid = 0.5 * (lo + hi);
    if (total(mid) > 1) lo = mid;
    else hi = mid;
  }
  const lambda = 0.5 * (lo + hi);
  for (let i = 0; i < n; i++)
    out[i] = clip((y[i] as number) - lambda, box.lower[i] as number, box.upper[i] as number);
  return out;
}

function clip(x: number, lo: number, hi: number): number {
  return Math.min(Math.max(x, lo), hi);
}

/** An upper bound of the largest eigenvalue (Gershgorin). */
function spectralBound(cov: Matrix): number {
  const { n, data } = cov;
  let best = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.abs(data[i * n + j] as number);
    best = Math.max(best, s);
  }
  return best;
}

function maxDiff(a: Float64Array, b: Float64Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
  return d;
}

function start(box: Box): Float64Array {
  const n = box.lower.length;
  return projectCappedSimplex(new Float64Array(n).fill(1 / n), box);
}

/** FISTA on wᵀΣw over the capped simplex, then the exact active-set polish. */
function minVariance(cov: Matrix, box: Box, maxIterations: number) {
  const n = cov.n;
  const lip = 2 * spectralBound(cov);
  let w = start(box);
  if (lip === 0) return { w, iterations: 0, converged: true };
  const yk = w.slice();
  let t = 1;
  const grad = new Float64Array(n);
  const step = new Float64Array(n);
  let iterations = 0;
  let converged = false;
  for (; iterations < maxIterations; iterations++) {
    mulVec(cov, yk, grad);
    for (let i = 0; i < n; i++) step[i] = (yk[i] as number) - (2 * (grad[i] as number)) / lip;
    const next = projectCappedSimplex(step, box);
    const tNext = (1 + Math.sqrt(1 + 4 * t * t)) / 2;
    const momentum = (t - 1) / tNext;
    for (let i = 0; i < n; i++)
      yk[i] = (next[i] as number) + momentum * ((next[i] as number) - (w[i] as number));
    const moved = maxDiff(next, w);
    w = next;
    t = tNext;
    if (moved < 1e-13) {
      converged = true;
      break;
    }
  }
  const polished = polishMinVariance(cov, w, box);
  if (polished !== undefined && quadForm(cov, polished) <= quadForm(cov, w) + 1e-15) {
    return { w: polished, iterations, converged: true };
  }
  return { w, iterations, converged };
}

/** Which assets sit at a bound: −1 lower, +1 upper, 0 free. */
function activeSet(w: Float64Array, box: Box): Int8Array {
  const state = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const lo = box.lower[i] as number;
    const hi = box.upper[i] as number;
    if (lo === hi || Math.abs((w[i] as number) - lo) <= BOUND_TOL) state[i] = -1;
    else if (Math.abs((w[i] as number) - hi) <= BOUND_TOL) state[i] = 1;
  }
  return state;
}

interface FreeSystem {
  free: number[];
  fixed: Float64Array;
  /** Σ_FF⁻¹·1 */
  a: Float64Array;
  /** Σ_FF⁻¹·Σ_FB·w_B */
  b: Float64Array;
  l: Matrix;
  budget: number;
}

function freeSystem(cov: Matrix, w: Float64Array, box: Box): FreeSystem | undefined {
  const n = cov.n;
  const state = activeSet(w, box);
  const free: number[] = [];
  const fixed = new Float64Array(n);
  let budget = 1;
  for (let i = 0; i < n; i++) {
    if (state[i] === 0) free.push(i);
    else {
      fixed[i] = state[i] === -1 ? (box.lower[i] as number) : (box.upper[i] as number);
      budget -= fixed[i] as number;
    }
  }
  if (free.length === 0) return undefined;
  let l: Matrix;
  try {
    l = cholesky(subMatrix(cov, free));
  } catch (err) {
    if (err instanceof LinearAlgebraError) return undefined;
    throw err;
  }
  const cross = free.map((i) => {
    let s = 0;
    for (let j = 0; j < n; j++)
      if (state[j] !== 0) s += (cov.data[i * n + j] as number) * (fixed[j] as number);
    return s;
  });
  return {
    free,
    fixed,
    a: choleskySolve(l, new Float64Array(free.length).fill(1)),
    b: choleskySolve(l, cross),
    l,
    budget,
  };
}

function feasible(w: Float64Array, box: Box): boolean {
  for (let i = 0; i < w.length; i++) {
    if (
      (w[i] as number) < (box.lower[i] as number) - 1e-10 ||
      (w[i] as number) > (box.upper[i] as number) + 1e-10
    ) {
      return false;
    }
  }
  return true;
}

function clampInto(w: Float64Array, box: Box): Float64Array {
  for (let i = 0; i < w.length; i++)
    w[i] = clip(w[i] as number, box.lower[i] as number, box.upper[i] as number);
  return w;
}

/** Σ_FF·w_F = ν·1 − Σ_FB·w_B with 1ᵀw_F = budget. */
function polishMinVariance(cov: Matrix, w: Float64Array, box: Box): Float64Array | undefined {
  const sys = freeSystem(cov, w, box);
  if (sys === undefined) return undefined;
  const sumA = sum(sys.a);
  const nu = (sys.budget + sum(sys.b)) / sumA;
  const out = sys.fixed.slice();
  sys.free.forEach((i, k) => {
    out[i] = nu * (sys.a[k] as number) - (sys.b[k] as number);
  });
  return feasible(out, box) ? clampInto(out, box) : undefined;
}

function sum(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] as number;
  return s;
}

function sharpeOf(cov: Matrix, excess: Float64Array, w: Float64Array): number {
  const v = quadForm(cov, w);
  let m = 0;
  for (let i = 0; i < w.length; i++) m += (excess[i] as number) * (w[i] as number);
  return v > 0 ? m / Math.sqrt(v) : m > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
}

/** Projected gradient ascent on the Sharpe ratio with Armijo backtracking, then the active-set polish. */
function maxSharpe(cov: Matrix, mean: Float64Array, riskFree: number, box: Box, maxIterations: number) {
  const n = cov.n;
  const excess = mean.map((m) => m - riskFree);
  let best = -1;
  for (let i = 0; i < n; i++)
    if ((excess[i] as number) > 0 && (best < 0 || (excess[i] as number) > (excess[best] as number))) best = i;
  if (best < 0)
    throw new RiskInputError(
      "no asset earns more than the risk-free rate: the maximum Sharpe portfolio is undefined",
    );
  let w = start(box);
  if (!(sharpeOf(cov, excess, w) > 0)) {
    const tilt = new Float64Array(n);
    tilt[best] = 1;
    w = projectCappedSimplex(tilt, box);
  }
  let s = sharpeOf(cov, excess, w);
  const grad = new Float64Array(n);
  const trial = new Float64Array(n);
  const sw = new Float64Array(n);
  let stepSize = 1;
  let iterations = 0;
  let converged = false;
  for (; iterations < maxIterations; iterations++) {
    const variance = quadForm(cov, w);
    const sigma = Math.sqrt(variance);
    let m = 0;
    for (let i = 0; i < n; i++) m += (excess[i] as number) * (w[i] as number);
    mulVec(cov, w, sw);
    for (let i = 0; i < n; i++)
      grad[i] = (excess[i] as number) / sigma - (m * (sw[i] as number)) / (sigma * variance);
    let accepted = false;
    let next = w;
    for (let k = 0; k < 60; k++) {
      for (let i = 0; i < n; i++) trial[i] = (w[i] as number) + stepSize * (grad[i] as number);
      next = projectCappedSimplex(trial, box);
      let ascent = 0;
      for (let i = 0; i < n; i++) ascent += (grad[i] as number) * ((next[i] as number) - (w[i] as number));
      const sNext = sharpeOf(cov, excess, next);
      if (sNext >= s + 1e-4 * ascent) {
        accepted = true;
        s = sNext;
        break;
      }
      stepSize /= 2;
    }
    const moved = maxDiff(next, w);
    if (!accepted || moved < 1e-13) {
      converged = true;
      break;
    }
    w = next;
    stepSize *= 2;
  }
  const polished = polishMaxSharpe(cov, excess, w, box);
  if (polished !== undefined && sharpeOf(cov, excess, polished) >= s - 1e-12) {
    return { w: polished, iterations, converged: true };
  }
  return { w, iterations, converged };
}

/**
 * Stationarity on the free set: Σ_FF·w_F = c·e_F − d·1 − Σ_FB·w_B with c = σ²/m (the scale of the
 * tangency direction); d follows from the budget, c is found by fixed-point iteration.
 */
function polishMaxSharpe(
  cov: Matrix,
  excess: Float64Array,
  w: Float64Array,
  box: Box,
): Float64Array | undefined {
  const sys = freeSystem(cov, w, box);
  if (sys === undefined) return undefined;
  const eF = sys.free.map((i) => excess[i] as number);
  const big = choleskySolve(sys.l, eF);
  const sumA = sum(sys.a);
  const sumBig = sum(big);
  const sumB = sum(sys.b);
  let out = w.slice();
  let c = quadForm(cov, w) / dotExcess(excess, w);
  for (let k = 0; k < 200; k++) {
    const d = (c * sumBig - sumB - sys.budget) / sumA;
    const next = sys.fixed.slice();
    sys.free.forEach((i, j) => {
      next[i] = c * (big[j] as number) - d * (sys.a[j] as number) - (sys.b[j] as number);
    });
    const m = dotExcess(excess, next);
    if (!(m > 0)) return undefined;
    const cNext = quadForm(cov, next) / m;
    out = next;
    if (Math.abs(cNext - c) <= 1e-15 * Math.max(1, Math.abs(c))) break;
    c = cNext;
  }
  return feasible(out, box) ? clampInto(out, box) : undefined;
}

function dotExcess(excess: Float64Array, w: Float64Array): number {
  let m = 0;
  for (let i = 0; i < w.length; i++) m += (excess[i] as number) * (w[i] as number);
  return m;
}

/** Risk contributions as shares of the variance: wᵢ(Σw)ᵢ / wᵀΣw. */
export function riskContributions(cov: Matrix, w: ArrayLike<number>): Float64Array {
  const sw = mulVec(cov, w);
  let v = 0;
  for (let i = 0; i < w.length; i++) v += (w[i] as number) * (sw[i] as number);
  const out = new Float64Array(w.length);
  if (v > 0) for (let i = 0; i < w.length; i++) out[i] = ((w[i] as number) * (sw[i] as number)) / v;
  return out;
}

function riskParity(cov: Matrix, b: Float64Array, box: Box, maxIterations: number) {
  const n = cov.n;
  for (let i = 0; i < n; i++) {
    if (!((cov.data[i * n + i] as number) > 0)) {
      throw new RiskInputError(`asset ${i} has zero variance: risk parity needs every asset to carry risk`);
    }
  }
  // Spinu: minimise ½yᵀΣy − Σ bᵢ ln yᵢ by cyclical coordinate descent; w = y / Σy.
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = 1 / Math.sqrt(cov.data[i * n + i] as number);
  let iterations = 0;
  let converged = false;
  for (; iterations < maxIterations; iterations++) {
    let moved = 0;
    for (let i = 0; i < n; i++) {
      let cross = 0;
      for (let j = 0; j < n; j++) if (j !== i) cross += (cov.data[i * n + j] as number) * (y[j] as number);
      const sii = cov.data[i * n + i] as number;
      const yi = (-cross + Math.sqrt(cross * cross + 4 * sii * (b[i] as number))) / (2 * sii);
      moved = Math.max(moved, Math.abs(yi - (y[i] as number)) / Math.max(Math.abs(yi), 1e-300));
      y[i] = yi;
    }
    if (moved < 1e-14) {
      converged = true;
      break;
    }
  }
  const total = sum(y);
  const w = y.map((v) => v / total);
  if (feasible(w, box)) return { w: clampInto(w, box), iterations, converged };
  return boundedRiskParity(cov, b, box, projectCappedSimplex(w, box), maxIterations);
}

/** Σ(xᵢ − bᵢ)² with xᵢ = wᵢ(Σw)ᵢ/V, minimised by projected gradient with backtracking. */
function boundedRiskParity(cov: Matrix, b: Float64Array, box: Box, w0: Float64Array, maxIterations: number) {
  const n = cov.n;
  const objective = (w: Float64Array): number => {
    const x = riskContributions(cov, w);
    let f = 0;
    for (let i = 0; i < n; i++) f += ((x[i] as number) - (b[i] as number)) ** 2;
    return f;
  };
  let w = w0;
  let f = objective(w);
  const grad = new Float64Array(n);
  const trial = new Float64Array(n);
  let stepSize = 1;
  let iterations = 0;
  let converged = false;
  for (; iterations < maxIterations; iterations++) {
    const sw = mulVec(cov, w);
    const v = quadForm(cov, w);
    const x = riskContributions(cov, w);
    const e = x.map((xi, i) => xi - (b[i] as number));
    let ex = 0;
    for (let i = 0; i < n; i++) ex += (e[i] as number) * (x[i] as number);
    const ew = e.map((ei, i) => ei * (w[i] as number));
    const sew = mulVec(cov, ew);
    for (let k = 0; k < n; k++) {
      grad[k] =
        (2 / v) * ((e[k] as number) * (sw[k] as number) + (sew[k] as number) - 2 * (sw[k] as number) * ex);
    }
    let accepted = false;
    let next = w;
    for (let k = 0; k < 60; k++) {
      for (let i = 0; i < n; i++) trial[i] = (w[i] as number) - stepSize * (grad[i] as number);
      next = projectCappedSimplex(trial, box);
      let descent = 0;
      for (let i = 0; i < n; i++) descent += (grad[i] as number) * ((next[i] as number) - (w[i] as number));
      const fNext = objective(next);
      if (fNext <= f + 1e-4 * descent) {
        accepted = true;
        f = fNext;
        break;
      }
      stepSize /= 2;
    }
    const moved = maxDiff(next, w);
    if (!accepted || moved < 1e-14) {
      converged = true;
      break;
    }
    w = next;
    stepSize *= 2;
  }
  return { w, iterations, converged };
}

function describe(
  objective: Objective,
  w: Float64Array,
  cov: Matrix,
  mean: Float64Array,
  riskFree: number,
  box: Box,
  iterations: number,
  converged: boolean,
): OptimizeResult {
  const n = w.length;
  // Round-off leaves a weight at a bound off by ~1e-16; put it exactly on the bound.
  for (let i = 0; i < n; i++) {
    if (Math.abs((w[i] as number) - (box.lower[i] as number)) <= 1e-12) w[i] = box.lower[i] as number;
    else if (Math.abs((w[i] as number) - (box.upper[i] as number)) <= 1e-12) w[i] = box.upper[i] as number;
  }
  const volatility = Math.sqrt(Math.max(0, quadForm(cov, w)));
  let expectedReturn = 0;
  for (let i = 0; i < n; i++) expectedReturn += (mean[i] as number) * (w[i] as number);
  const state = activeSet(w, box);
  const binding: BindingConstraint[] = [];
  for (let i = 0; i < n; i++) {
    if (state[i] === -1) binding.push({ index: i, bound: "lower", value: box.lower[i] as number });
    else if (state[i] === 1) binding.push({ index: i, bound: "upper", value: box.upper[i] as number });
  }
  return {
    objective,
    weights: Array.from(w),
    expectedReturn,
    volatility,
    sharpe: volatility > 0 ? (expectedReturn - riskFree) / volatility : 0,
    riskContributions: Array.from(riskContributions(cov, w)),
    binding,
    iterations,
    converged,
  };
}
