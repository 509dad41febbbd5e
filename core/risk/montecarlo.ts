import { cholesky, type Matrix } from "./linalg.ts";
import { createRandom } from "../math/random.ts";
import { RiskInputError } from "./var.ts";

/**
 * Monte Carlo paths of a buy-and-hold portfolio: correlated geometric Brownian motion through a Cholesky
 * factor of the per-step covariance, or a (block) bootstrap of historical return rows, which keeps the
 * assets' joint moves and fat tails. Seeded: the same input gives the same numbers.
 *
 * The portfolio starts at `initialValue` with `weights[i]` of it in asset i (the rest, 1 − Σw, is cash
 * earning nothing); every path tracks its value, its running peak and its maximum drawdown.
 */
export interface PathsCommon {
  weights: readonly number[];
  initialValue: number;
  steps: number;
  paths: number;
  seed: number;
  /** A path "breaches" when its maximum drawdown from peak exceeds this fraction. */
  drawdownThreshold: number;
  /** Percentiles of the terminal value to report, in [0, 100]. */
  percentiles: readonly number[];
}

export interface GbmPathsInput extends PathsCommon {
  model: "gbm";
  /** Per-step mean simple return of each asset (drift μ; log drift is μ − σ²/2). */
  mean: readonly number[];
  /** Per-step covariance of returns. */
  covariance: Matrix;
}

export interface BootstrapPathsInput extends PathsCommon {
  model: "bootstrap";
  /** Historical simple returns, `T × N`, one row per period. */
  history: readonly (readonly number[])[];
  /** Consecutive rows drawn together (1 = i.i.d. bootstrap). */
  blockLength: number;
}

export type PathsInput = GbmPathsInput | BootstrapPathsInput;

export interface PathsResult {
  model: PathsInput["model"];
  paths: number;
  steps: number;
  terminal: { percentile: number; value: number }[];
  meanTerminal: number;
  /** Share of paths whose terminal value is below the initial value. */
  probabilityOfLoss: number;
  drawdownThreshold: number;
  /** Share of paths whose maximum drawdown exceeds the threshold. */
  probabilityOfDrawdown: number;
  meanMaxDrawdown: number;
  /** 95th percentile of the paths' maximum drawdowns. */
  maxDrawdownP95: number;
}

export function simulatePaths(input: PathsInput): PathsResult {
  const { weights, initialValue, steps, paths, seed, drawdownThreshold } = input;
  const n = weights.length;
  if (!(initialValue > 0)) throw new RiskInputError(`initial value must be positive, got ${initialValue}`);
  if (!Number.isInteger(steps) || steps < 1)
    throw new RiskInputError(`steps must be a positive integer, got ${steps}`);
  if (!Number.isInteger(paths) || paths < 1)
    throw new RiskInputError(`paths must be a positive integer, got ${paths}`);
  let invested = 0;
  for (const w of weights) invested += w;
  const cash = initialValue * (1 - invested);
  const holdings = Float64Array.from(weights, (w) => w * initialValue);
  const price = new Float64Array(n);
  const terminal = new Float64Array(paths);
  const maxDd = new Float64Array(paths);
  const rng = createRandom(seed);

  let step: (price: Float64Array) => void;
  /** Called at the start of every path (a bootstrap path starts a fresh block). */
  let begin = (): void => {};
  if (input.model === "gbm") {
    if (input.mean.length !== n || input.covariance.n !== n) {
      throw new RiskInputError(
        `${input.mean.length} means and a ${input.covariance.n}×${input.covariance.n} covariance for ${n} weights`,
      );
    }
    const l = cholesky(input.covariance, "covariance matrix");
    const drift = Float64Array.from(
      input.mean,
      (m, i) => m - 0.5 * (input.covariance.data[i * n + i] as number),
    );
    const z = new Float64Array(n);
    step = (p) => {
      rng.fillNormal(z);
      for (let i = 0; i < n; i++) {
        let x = drift[i] as number;
        const row = i * n;
        for (let k = 0; k <= i; k++) x += (l.data[row + k] as number) * (z[k] as number);
        p[i] = (p[i] as number) * Math.exp(x);
      }
    };
  } else {
    const { history, blockLength } = input;
    const t = history.length;
    if (t < 1) throw new RiskInputError("bootstrap needs at least one historical row");
    if (!Number.isInteger(blockLength) || blockLength < 1 || blockLength > t) {
      throw new RiskInputError(`block length must be an integer in [1, ${t}], got ${blockLength}`);
    }
    history.forEach((row, r) => {
      if (row.length !== n)
        throw new RiskInputError(`history row ${r} has ${row.length} returns for ${n} weights`);
    });
    let cursor = 0;
    let left = 0;
    begin = () => {
      left = 0;
    };
    step = (p) => {
      if (left === 0) {
        cursor = rng.int(t - blockLength + 1);
        left = blockLength;
      }
      const row = history[cursor] as readonly number[];
      for (let i = 0; i < n; i++) p[i] = (p[i] as number) * (1 + (row[i] as number));
      cursor++;
      left--;
    };
  }

  let breaches = 0;
  let losses = 0;
  let sumTerminal = 0;
  let sumDd = 0;
  for (let path = 0; path < paths; path++) {
    price.fill(1);
    begin();
    let peak = initialValue;
    let worst = 0;
    let value = initialValue;
    for (let s = 0; s < steps; s++) {
      step(price);
      value = cash;
      for (let i = 0; i < n; i++) value += (holdings[i] as number) * (price[i] as number);
      if (value > peak) peak = value;
      const dd = 1 - value / peak;
      if (dd > worst) worst = dd;
    }
    terminal[path] = value;
    maxDd[path] = worst;
    sumTerminal += value;
    sumDd += worst;
    if (worst > drawdownThreshold) breaches++;
    if (value < initialValue) losses++;
  }
  terminal.sort();
  maxDd.sort();
  return {
    model: input.model,
    paths,
    steps,
    terminal: input.percentiles.map((p) => ({ percentile: p, value: percentile(terminal, p) })),
    meanTerminal: sumTerminal / paths,
    probabilityOfLoss: losses / paths,
    drawdownThreshold,
    probabilityOfDrawdown: breaches / paths,
    meanMaxDrawdown: sumDd / paths,
    maxDrawdownP95: percentile(maxDd, 95),
  };
}

/** Linear-interpolation percentile (type 7) of an ascending sample; p in [0, 100]. */
export function percentile(sorted: Float64Array, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RiskInputError(`percentile must be in [0, 100], got ${p}`);
  const n = sorted.length;
  const h = ((n - 1) * p) / 100;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return (sorted[lo] as number) + (h - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
}
