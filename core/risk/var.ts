import { cholesky, covariance, type Matrix, means } from "./linalg.ts";
import { normalPdf, normalQuantile } from "./normal.ts";
import { weightedExpSums } from "../math/exp.ts";
import { createRandom } from "../math/random.ts";

/**
 * Value at Risk and Conditional VaR (expected shortfall) of a return series or of a weighted portfolio
 * of series. Returns are simple returns per period (0.01 = +1 %); VaR and CVaR are losses as positive
 * fractions of value, at `confidence` (0.95, 0.99) over `horizon` periods.
 *
 * - historical: the k-th worst return with k = ⌈n(1−c)⌉; CVaR is the mean of the k worst. Horizons
 *   beyond one period use the square-root-of-time rule.
 * - parametric_normal: VaR = z·σ·√h − μ·h, CVaR = σ·√h·φ(z)/(1−c) − μ·h, with z = Φ⁻¹(c).
 * - cornish_fisher: the normal quantile corrected for sample skewness S and excess kurtosis K (scaled to
 *   the horizon as S/√h, K/h); CVaR integrates the corrected quantile over the tail in closed form.
 * - monte_carlo: correlated lognormal (GBM) asset returns over the horizon, drawn through a Cholesky
 *   factor of the sample covariance with the sample means, seeded, in antithetic pairs (z and −z: half
 *   the draws and matrix products, lower variance); VaR and CVaR of the simulated portfolio returns as
 *   in the historical method.
 */
export const VarMethods = ["historical", "parametric_normal", "cornish_fisher", "monte_carlo"] as const;
export type VarMethod = (typeof VarMethods)[number];

export interface VarResult {
  method: VarMethod;
  confidence: number;
  horizon: number;
  var: number;
  cvar: number;
  /** Per-period mean and standard deviation of the (portfolio) series. */
  mean: number;
  volatility: number;
  skewness: number;
  excessKurtosis: number;
  observations: number;
  /** Monte Carlo only. */
  paths?: number;
}

export class RiskInputError extends RangeError {
  override name = "RiskInputError";
}

export function checkConfidence(confidence: number): void {
  if (!(confidence > 0 && confidence < 1)) {
    throw new RiskInputError(`confidence must be strictly between 0 and 1, got ${confidence}`);
  }
}

function checkHorizon(horizon: number): void {
  if (!(horizon > 0) || !Number.isFinite(horizon))
    throw new RiskInputError(`horizon must be positive, got ${horizon}`);
}

export interface Moments {
  mean: number;
  /** Sample standard deviation (divisor n − 1). */
  sd: number;
  skewness: number;
  excessKurtosis: number;
}

/** Mean, sample standard deviation, skewness and excess kurtosis (population moment ratios). */
export function moments(x: ArrayLike<number>): Moments {
  const n = x.length;
  if (n < 2) throw new RiskInputError(`need at least 2 returns, got ${n}`);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i] as number;
  mean /= n;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = (x[i] as number) - mean;
    const d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  const sd = Math.sqrt(m2 / (n - 1));
  const pm2 = m2 / n;
  const skewness = pm2 > 0 ? m3 / n / pm2 ** 1.5 : 0;
  const excessKurtosis = pm2 > 0 ? m4 / n / (pm2 * pm2) - 3 : 0;
  return { mean, sd, skewness, excessKurtosis };
}

/** The portfolio's return per period: Σ wᵢ·rₜᵢ over a `T × N` matrix of returns. */
export function portfolioReturns(
  returns: readonly (readonly number[])[],
  weights: readonly number[],
): Float64Array {
  const n = weights.length;
  const out = new Float64Array(returns.length);
  for (let t = 0; t < returns.length; t++) {
    const row = returns[t] as readonly number[];
    if (row.length !== n) throw new RiskInputError(`row ${t} has ${row.length} returns for ${n} weights`);
    let s = 0;
    for (let j = 0; j < n; j++) s += (row[j] as number) * (weights[j] as number);
    out[t] = s;
  }
  return out;
}

/**
 * Empirical VaR and CVaR of a sample (losses positive), k = ⌈n(1−c)⌉ worst observations. O(n): a
 * quickselect puts the k worst first. `inPlace` lets it reorder the caller's buffer instead of a copy.
 */
export function empiricalTail(
  sample: Float64Array,
  confidence: number,
  inPlace = false,
): { var: number; cvar: number } {
  checkConfidence(confidence);
  const n = sample.length;
  if (n === 0) throw new RiskInputError("need at least one observation");
  const a = inPlace ? sample : sample.slice();
  const k = Math.min(n, Math.max(1, Math.ceil(n * (1 - confidence) - 1e-9)));
  select(a, k - 1);
  let sum = 0;
  for (let i = 0; i < k; i++) sum += a[i] as number;
  return { var: -(a[k - 1] as number), cvar: -sum / k };
}

/** Rearranges `a` so that a[k] is the k-th smallest, everything before it ≤ a[k], everything after ≥. */
export function select(a: Float64Array, k: number): void {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three as pivot.
    const x = a[lo] as number;
    const y = a[mid] as number;
    const z = a[hi] as number;
    const pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

export function historicalVar(returns: ArrayLike<number>, confidence: number, horizon = 1): VarResult {
  checkHorizon(horizon);
  const sample = Float64Array.from(returns as ArrayLike<number>);
  const m = moments(sample);
  const tail = empiricalTail(sample, confidence);
  const scale = Math.sqrt(horizon);
  return {
    method: "historical",
    confidence,
    horizon,
    var: tail.var * scale,
    cvar: tail.cvar * scale,
    ...summary(m, sample.length),
  };
}

/** Normal VaR from a mean and volatility per period. */
export function normalVar(
  mean: number,
  sigma: number,
  confidence: number,
  horizon = 1,
): { var: number; cvar: number } {
  checkConfidence(confidence);
  checkHorizon(horizon);
  if (!(sigma >= 0)) throw new RiskInputError(`volatility must be non-negative, got ${sigma}`);
  const z = normalQuantile(confidence);
  const s = sigma * Math.sqrt(horizon);
  return { var: z * s - mean * horizon, cvar: (s * normalPdf(z)) / (1 - confidence) - mean * horizon };
}

export function parametricNormalVar(returns: ArrayLike<number>, confidence: number, horizon = 1): VarResult {
  const m = moments(returns);
  return {
    method: "parametric_normal",
    confidence,
    horizon,
    ...normalVar(m.mean, m.sd, confidence, horizon),
    ...summary(m, returns.length),
  };
}

/** Cornish-Fisher VaR/CVaR from moments per period. */
export function cornishFisher(m: Moments, confidence: number, horizon = 1): { var: number; cvar: number } {
  checkConfidence(confidence);
  checkHorizon(horizon);
  const mu = m.mean * horizon;
  const sigma = m.sd * Math.sqrt(horizon);
  const s = m.skewness / Math.sqrt(horizon);
  const k = m.excessKurtosis / horizon;
  const a = normalQuantile(1 - confidence);
  const zcf = a + ((a * a - 1) * s) / 6 + ((a ** 3 - 3 * a) * k) / 24 - ((2 * a ** 3 - 5 * a) * s * s) / 36;
  // ∫_{-∞}^{a} z_cf(z) φ(z) dz in closed form from the truncated normal moments.
  const tailIntegral =
    normalPdf(a) * (-1 - (s * a) / 6 + (k * (1 - a * a)) / 24 - (s * s * (1 - 2 * a * a)) / 36);
  return { var: -(mu + sigma * zcf), cvar: -mu - (sigma * tailIntegral) / (1 - confidence) };
}

export function cornishFisherVar(returns: ArrayLike<number>, confidence: number, horizon = 1): VarResult {
  const m = moments(returns);
  return {
    method: "cornish_fisher",
    confidence,
    horizon,
    ...cornishFisher(m, confidence, horizon),
    ...summary(m, returns.length),
  };
}

export interface MonteCarloVarInput {
  /** Per-period mean simple return of each asset. */
  mean: ArrayLike<number>;
  /** Per-period covariance of the assets' returns. */
  covariance: Matrix;
  weights: ArrayLike<number>;
  confidence: number;
  horizon: number;
  paths: number;
  seed: number;
}

/**
 * A Monte Carlo simulation of portfolio returns, ready to run block by block: GBM per asset, correlated
 * through the Cholesky factor of the covariance. Plain data (typed arrays and numbers), so it crosses to
 * a helper thread by structured clone.
 */
export interface PortfolioSimulation {
  /** Assets. */
  n: number;
  paths: number;
  seed: number;
  /** The Cholesky factor scaled by √h, row-major n × n (lower triangle). */
  ls: Float64Array;
  /** Drift of each asset's log return over the horizon, (μ − σ²/2)·h. */
  drift: Float64Array;
  w: Float64Array;
  /** wᵢ·e^{2dᵢ}: the antithetic path's log return is 2d − y, its growth e^{2d}·e^{−y}. */
  wUp: Float64Array;
  wsum: number;
}

/**
 * Antithetic pairs per block (paths 2·256·b … of block b). A block's normals and log returns stay in
 * L1/L2, and each block draws from its own stream ({@link blockStream}), so the blocks may run in any
 * order and in any thread and the paths are the same.
 */
export const BLOCK_PAIRS = 256;

/** The normals of block `block` of a simulation seeded `seed`. */
export const blockStream = (seed: number, block: number) => createRandom(`${seed}:${block}`);

/** Blocks of a simulation. */
export const blocksOf = (sim: Pick<PortfolioSimulation, "paths">) =>
  Math.ceil(Math.ceil(sim.paths / 2) / BLOCK_PAIRS);

/** Checks the input and prepares its simulation (the Cholesky factor, drifts, antithetic weights). */
export function portfolioSimulation(input: MonteCarloVarInput): PortfolioSimulation {
  const { mean, covariance: cov, weights, horizon, paths, seed } = input;
  const n = cov.n;
  if (mean.length !== n || weights.length !== n) {
    throw new RiskInputError(`${mean.length} means and ${weights.length} weights for ${n} assets`);
  }
  if (!(paths >= 1) || !Number.isInteger(paths))
    throw new RiskInputError(`paths must be a positive integer, got ${paths}`);
  checkHorizon(horizon);
  const l = cholesky(cov, "covariance matrix");
  const sqrtH = Math.sqrt(horizon);
  const ls = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) ls[i] = (l.data[i] as number) * sqrtH;
  const drift = new Float64Array(n);
  const w = Float64Array.from(weights as ArrayLike<number>);
  const wUp = new Float64Array(n);
  let wsum = 0;
  for (let i = 0; i < n; i++) {
    drift[i] = ((mean[i] as number) - 0.5 * (cov.data[i * n + i] as number)) * horizon;
    wsum += w[i] as number;
    wUp[i] = (w[i] as number) * Math.exp(2 * (drift[i] as number));
  }
  return { n, paths, seed, ls, drift, w, wUp, wsum };
}

/** A thread's working buffers for blocks of n assets. */
export interface BlockScratch {
  z: Float64Array;
  sums: Float64Array;
}

export const blockScratch = (n: number): BlockScratch => ({
  z: new Float64Array(n * BLOCK_PAIRS),
  sums: new Float64Array(2 * BLOCK_PAIRS),
});

/**
 * Simulates block `block` into its paths of `out`: its normals are turned into log returns y in place,
 * then each draw's weighted growth Σwᵢe^{yᵢ} and its antithetic path's Σwᵢe^{2dᵢ}e^{−yᵢ} are summed in
 * one pass ({@link weightedExpSums}). Path 2q (and 2q+1) of the block uses its normals qn … qn+n−1.
 */
export function simulateBlock(
  sim: PortfolioSimulation,
  block: number,
  out: Float64Array,
  scratch: BlockScratch,
): void {
  const { n, paths, ls, drift, w, wUp, wsum } = sim;
  const start = block * BLOCK_PAIRS;
  const count = Math.min(BLOCK_PAIRS, Math.ceil(paths / 2) - start);
  const z = scratch.z.subarray(0, n * count);
  blockStream(sim.seed, block).fillNormal(z);
  correlate(z, count, n, ls, drift);
  weightedExpSums(z, count, w, wUp, scratch.sums);
  const base = 2 * start;
  const end = Math.min(paths - base, 2 * count);
  const sums = scratch.sums;
  for (let p = 0; p < end; p++) out[base + p] = (sums[p] as number) - wsum;
}

/**
 * Where a simulation's blocks run. By default all in the calling thread; core/compute/blocks.ts shares
 * them with a helper thread. `run` returns the simulated returns (the paths), the same for any runner.
 */
export interface BlockRunner {
  run(sim: PortfolioSimulation): Float64Array;
}

export const inThread: BlockRunner = {
  run(sim) {
    const out = new Float64Array(sim.paths);
    const scratch = blockScratch(sim.n);
    const blocks = blocksOf(sim);
    for (let b = 0; b < blocks; b++) simulateBlock(sim, b, out, scratch);
    return out;
  },
};

/** Simulated portfolio returns over the horizon ({@link PortfolioSimulation}), block by block. */
export function simulatePortfolioReturns(
  input: MonteCarloVarInput,
  runner: BlockRunner = inThread,
): Float64Array {
  return runner.run(portfolioSimulation(input));
}

/**
 * Turns `count` draws of n standard normals (row-major in `z`) into log returns in place:
 * yᵢ = dᵢ + Σ_{k≤i} Lᵢₖ zₖ. Four draws and two rows at a time, so that every zₖ and factor entry loaded
 * feeds two or four of eight independent chains of adds, which the CPU overlaps. Rows run from the last
 * up, as rows i and i−1 read z₀ … zᵢ only and may then overwrite zᵢ and zᵢ₋₁.
 */
function correlate(z: Float64Array, count: number, n: number, ls: Float64Array, drift: Float64Array): void {
  let q = 0;
  for (; q + 4 <= count; q += 4) correlate4(z, q * n, n, ls, drift);
  for (; q < count; q++) {
    const b = q * n;
    for (let i = n - 1; i >= 0; i--) {
      const row = i * n;
      let y = drift[i] as number;
      for (let k = 0; k <= i; k++) y += (ls[row + k] as number) * (z[b + k] as number);
      z[b + i] = y;
    }
  }
}

/** {@link correlate} for the four draws from offset `b0`. */
function correlate4(z: Float64Array, b0: number, n: number, ls: Float64Array, drift: Float64Array): void {
  const b1 = b0 + n;
  const b2 = b1 + n;
  const b3 = b2 + n;
  let i = n - 1;
  for (; i >= 1; i -= 2) {
    const ra = i * n;
    const rb = ra - n;
    const da = drift[i] as number;
    const db = drift[i - 1] as number;
    let a0 = da;
    let a1 = da;
    let a2 = da;
    let a3 = da;
    let c0 = db;
    let c1 = db;
    let c2 = db;
    let c3 = db;
    for (let k = 0; k < i; k++) {
      const la = ls[ra + k] as number;
      const lb = ls[rb + k] as number;
      const z0 = z[b0 + k] as number;
      const z1 = z[b1 + k] as number;
      const z2 = z[b2 + k] as number;
      const z3 = z[b3 + k] as number;
      a0 += la * z0;
      a1 += la * z1;
      a2 += la * z2;
      a3 += la * z3;
      c0 += lb * z0;
      c1 += lb * z1;
      c2 += lb * z2;
      c3 += lb * z3;
    }
    const la = ls[ra + i] as number;
    z[b0 + i] = a0 + la * (z[b0 + i] as number);
    z[b1 + i] = a1 + la * (z[b1 + i] as number);
    z[b2 + i] = a2 + la * (z[b2 + i] as number);
    z[b3 + i] = a3 + la * (z[b3 + i] as number);
    z[b0 + i - 1] = c0;
    z[b1 + i - 1] = c1;
    z[b2 + i - 1] = c2;
    z[b3 + i - 1] = c3;
  }
  if (i === 0) {
    const l = ls[0] as number;
    const d = drift[0] as number;
    z[b0] = d + l * (z[b0] as number);
    z[b1] = d + l * (z[b1] as number);
    z[b2] = d + l * (z[b2] as number);
    z[b3] = d + l * (z[b3] as number);
  }
}

export function monteCarloVar(
  input: MonteCarloVarInput,
  runner: BlockRunner = inThread,
): { var: number; cvar: number } {
  checkConfidence(input.confidence);
  return empiricalTail(simulatePortfolioReturns(input, runner), input.confidence, true);
}

export interface VarRequest {
  method: VarMethod;
  /** One series (length T) or a `T × N` matrix with `weights`. */
  returns: readonly number[] | readonly (readonly number[])[];
  weights?: readonly number[];
  confidence: number;
  horizon: number;
  paths?: number;
  seed?: number;
}

/** VaR and CVaR of one series or of a weighted portfolio by any method. */
export function valueAtRisk(req: VarRequest, runner: BlockRunner = inThread): VarResult {
  const matrixInput = Array.isArray(req.returns[0]);
  let rows: readonly (readonly number[])[];
  let weights: readonly number[];
  if (matrixInput) {
    rows = req.returns as readonly (readonly number[])[];
    const n = rows[0]?.length ?? 0;
    weights = req.weights ?? Array.from({ length: n }, () => 1 / n);
    if (weights.length !== n) throw new RiskInputError(`${weights.length} weights for ${n} assets`);
  } else {
    if (req.weights !== undefined && req.weights.length !== 1) {
      throw new RiskInputError("weights need a matrix of returns (one column per asset)");
    }
    rows = (req.returns as readonly number[]).map((r) => [r]);
    weights = req.weights ?? [1];
  }
  const series = portfolioReturns(rows, weights);
  switch (req.method) {
    case "historical":
      return historicalVar(series, req.confidence, req.horizon);
    case "parametric_normal":
      return parametricNormalVar(series, req.confidence, req.horizon);
    case "cornish_fisher":
      return cornishFisherVar(series, req.confidence, req.horizon);
    case "monte_carlo": {
      const n = weights.length;
      const paths = req.paths ?? 10_000;
      const m = moments(series);
      const tail = monteCarloVar(
        {
          mean: means(rows, n),
          covariance: covariance(rows, n),
          weights,
          confidence: req.confidence,
          horizon: req.horizon,
          paths,
          seed: req.seed ?? 1,
        },
        runner,
      );
      return {
        method: "monte_carlo",
        confidence: req.confidence,
        horizon: req.horizon,
        ...tail,
        ...summary(m, series.length),
        paths,
      };
    }
  }
}

function summary(m: Moments, observations: number) {
  return {
    mean: m.mean,
    volatility: m.sd,
    skewness: m.skewness,
    excessKurtosis: m.excessKurtosis,
    observations,
  };
}
