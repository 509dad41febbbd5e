import type { Bar } from "../features/feature-set.ts";

/**
 * A Gaussian hidden Markov model with diagonal covariances, fitted by Baum–Welch (EM) with the scaled
 * forward–backward recursions, decoded by Viterbi in log space. States are ordered by their mean of
 * the last observation dimension (volatility), so state 0 is always the calmest.
 */
export interface GaussianHmm {
  states: number;
  dims: number;
  /** Initial state probabilities [K]. */
  initial: number[];
  /** Row-stochastic transition matrix, row-major [K×K]. */
  transition: number[];
  /** Means [K×D] and variances [K×D], row-major. */
  means: number[];
  variances: number[];
}

export interface HmmFit {
  model: GaussianHmm;
  logLikelihood: number;
  iterations: number;
  converged: boolean;
}

export interface HmmOptions {
  states?: number;
  maxIterations?: number;
  /** Stop when the log-likelihood improves by less than this. */
  tolerance?: number;
}

const LOG_2PI = Math.log(2 * Math.PI);

/** Observations of a bar series for regime detection: [log return, log of the bar's relative range]. */
export function regimeObservations(bars: readonly Bar[]): number[][] {
  const out: number[][] = [];
  for (let i = 1; i < bars.length; i++) {
    const b = bars[i] as Bar;
    const prev = bars[i - 1] as Bar;
    out.push([Math.log(b.close / prev.close), Math.log((b.high - b.low) / b.close + 1e-9)]);
  }
  return out;
}

function logEmission(model: GaussianHmm, k: number, o: readonly number[]): number {
  let s = 0;
  for (let d = 0; d < model.dims; d++) {
    const v = model.variances[k * model.dims + d] as number;
    const diff = (o[d] as number) - (model.means[k * model.dims + d] as number);
    s -= 0.5 * (LOG_2PI + Math.log(v) + (diff * diff) / v);
  }
  return s;
}

/** Emission likelihoods scaled per time step by their maximum; returns the log of each step's scale. */
function emissions(
  model: GaussianHmm,
  obs: readonly (readonly number[])[],
): { b: Float64Array; logScale: Float64Array } {
  const K = model.states;
  const T = obs.length;
  const b = new Float64Array(T * K);
  const logScale = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < K; k++) {
      const l = logEmission(model, k, obs[t] as number[]);
      b[t * K + k] = l;
      if (l > max) max = l;
    }
    for (let k = 0; k < K; k++) b[t * K + k] = Math.exp((b[t * K + k] as number) - max);
    logScale[t] = max;
  }
  return { b, logScale };
}

/** Scaled forward–backward: posteriors γ [T×K], expected transitions ξ summed over t, log-likelihood. */
function forwardBackward(model: GaussianHmm, obs: readonly (readonly number[])[]) {
  const K = model.states;
  const T = obs.length;
  const { b, logScale } = emissions(model, obs);
  const alpha = new Float64Array(T * K);
  const c = new Float64Array(T);
  let logLik = 0;
  for (let t = 0; t < T; t++) {
    let sum = 0;
    for (let j = 0; j < K; j++) {
      let a = 0;
      if (t === 0) a = model.initial[j] as number;
      else
        for (let i = 0; i < K; i++)
          a += (alpha[(t - 1) * K + i] as number) * (model.transition[i * K + j] as number);
      a *= b[t * K + j] as number;
      alpha[t * K + j] = a;
      sum += a;
    }
    const norm = sum > 0 ? sum : 1e-300;
    c[t] = norm;
    for (let j = 0; j < K; j++) alpha[t * K + j] = (alpha[t * K + j] as number) / norm;
    logLik += Math.log(norm) + (logScale[t] as number);
  }
  const beta = new Float64Array(T * K);
  for (let j = 0; j < K; j++) beta[(T - 1) * K + j] = 1;
  for (let t = T - 2; t >= 0; t--) {
    for (let i = 0; i < K; i++) {
      let s = 0;
      for (let j = 0; j < K; j++)
        s +=
          (model.transition[i * K + j] as number) *
          (b[(t + 1) * K + j] as number) *
          (beta[(t + 1) * K + j] as number);
      beta[t * K + i] = s / (c[t + 1] as number);
    }
  }
  const gamma = new Float64Array(T * K);
  for (let t = 0; t < T; t++) {
    let s = 0;
    for (let k = 0; k < K; k++) {
      const g = (alpha[t * K + k] as number) * (beta[t * K + k] as number);
      gamma[t * K + k] = g;
      s += g;
    }
    for (let k = 0; k < K; k++) gamma[t * K + k] = (gamma[t * K + k] as number) / (s > 0 ? s : 1);
  }
  const xi = new Float64Array(K * K);
  for (let t = 0; t < T - 1; t++) {
    for (let i = 0; i < K; i++) {
      for (let j = 0; j < K; j++) {
        xi[i * K + j]! +=
          ((alpha[t * K + i] as number) *
            (model.transition[i * K + j] as number) *
            (b[(t + 1) * K + j] as number) *
            (beta[(t + 1) * K + j] as number)) /
          (c[t + 1] as number);
      }
    }
  }
  return { gamma, xi, logLik };
}

/** Initial parameters: observations split into K quantile groups of the volatility dimension. */
function initialModel(obs: readonly (readonly number[])[], K: number): GaussianHmm {
  const D = (obs[0] as number[]).length;
  const order = obs.map((_, i) => i).sort((a, b) => (obs[a]![D - 1] as number) - (obs[b]![D - 1] as number));
  const means: number[] = [];
  const variances: number[] = [];
  const global = momentsOf(
    obs,
    obs.map((_, i) => i),
    D,
  );
  for (let k = 0; k < K; k++) {
    const idx = order.slice(Math.floor((k * obs.length) / K), Math.floor(((k + 1) * obs.length) / K));
    const m = momentsOf(obs, idx, D);
    for (let d = 0; d < D; d++) {
      means.push(m.mean[d] as number);
      variances.push(Math.max(m.variance[d] as number, (global.variance[d] as number) * 1e-3));
    }
  }
  const transition: number[] = [];
  for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) transition.push(i === j ? 0.95 : 0.05 / (K - 1));
  return { states: K, dims: D, initial: new Array<number>(K).fill(1 / K), transition, means, variances };
}

function momentsOf(obs: readonly (readonly number[])[], idx: readonly number[], D: number) {
  const mean = new Array<number>(D).fill(0);
  const variance = new Array<number>(D).fill(0);
  for (const i of idx) for (let d = 0; d < D; d++) mean[d]! += obs[i]![d] as number;
  for (let d = 0; d < D; d++) mean[d] = (mean[d] as number) / Math.max(1, idx.length);
  for (const i of idx)
    for (let d = 0; d < D; d++) variance[d]! += ((obs[i]![d] as number) - (mean[d] as number)) ** 2;
  for (let d = 0; d < D; d++) variance[d] = (variance[d] as number) / Math.max(1, idx.length);
  return { mean, variance };
}

/** Baum–Welch from a deterministic quantile initialisation. */
export function fitHmm(obs: readonly (readonly number[])[], options: HmmOptions = {}): HmmFit {
  const K = options.states ?? 2;
  if (K < 2) throw new RangeError("an HMM needs at least 2 states");
  if (obs.length < K * 10) throw new RangeError(`need at least ${K * 10} observations for ${K} states`);
  const D = (obs[0] as number[]).length;
  const T = obs.length;
  const floor = momentsOf(
    obs,
    obs.map((_, i) => i),
    D,
  ).variance.map((v) => Math.max(v * 1e-4, 1e-12));
  let model = initialModel(obs, K);
  let prev = Number.NEGATIVE_INFINITY;
  let iterations = 0;
  let converged = false;
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-6;
  let logLik = Number.NEGATIVE_INFINITY;
  for (; iterations < maxIterations; iterations++) {
    const fb = forwardBackward(model, obs);
    logLik = fb.logLik;
    if (logLik - prev < tolerance * Math.max(1, Math.abs(logLik))) {
      converged = true;
      break;
    }
    prev = logLik;
    const { gamma, xi } = fb;
    const initial = Array.from({ length: K }, (_, k) => gamma[k] as number);
    const transition: number[] = [];
    for (let i = 0; i < K; i++) {
      let rowSum = 0;
      for (let j = 0; j < K; j++) rowSum += xi[i * K + j] as number;
      for (let j = 0; j < K; j++) transition.push(rowSum > 0 ? (xi[i * K + j] as number) / rowSum : 1 / K);
    }
    const means = new Array<number>(K * D).fill(0);
    const variances = new Array<number>(K * D).fill(0);
    for (let k = 0; k < K; k++) {
      let w = 0;
      for (let t = 0; t < T; t++) {
        const g = gamma[t * K + k] as number;
        w += g;
        for (let d = 0; d < D; d++) means[k * D + d]! += g * (obs[t]![d] as number);
      }
      for (let d = 0; d < D; d++) means[k * D + d] = (means[k * D + d] as number) / Math.max(w, 1e-300);
      for (let t = 0; t < T; t++) {
        const g = gamma[t * K + k] as number;
        for (let d = 0; d < D; d++)
          variances[k * D + d]! += g * ((obs[t]![d] as number) - (means[k * D + d] as number)) ** 2;
      }
      for (let d = 0; d < D; d++)
        variances[k * D + d] = Math.max(
          (variances[k * D + d] as number) / Math.max(w, 1e-300),
          floor[d] as number,
        );
    }
    model = { states: K, dims: D, initial, transition, means, variances };
  }
  return { model: orderStates(model), logLikelihood: logLik, iterations, converged };
}

/** Renumbers states by ascending mean of the last (volatility) dimension. */
function orderStates(m: GaussianHmm): GaussianHmm {
  const K = m.states;
  const D = m.dims;
  const perm = Array.from({ length: K }, (_, k) => k).sort(
    (a, b) => (m.means[a * D + D - 1] as number) - (m.means[b * D + D - 1] as number),
  );
  return {
    states: K,
    dims: D,
    initial: perm.map((k) => m.initial[k] as number),
    transition: perm.flatMap((i) => perm.map((j) => m.transition[i * K + j] as number)),
    means: perm.flatMap((k) => m.means.slice(k * D, k * D + D)),
    variances: perm.flatMap((k) => m.variances.slice(k * D, k * D + D)),
  };
}

/** The most likely state path (Viterbi, log space). */
export function viterbi(model: GaussianHmm, obs: readonly (readonly number[])[]): number[] {
  const K = model.states;
  const T = obs.length;
  if (T === 0) return [];
  const logA = model.transition.map((p) => Math.log(p));
  const back = new Int32Array(T * K);
  let delta = Array.from(
    { length: K },
    (_, k) => Math.log(model.initial[k] as number) + logEmission(model, k, obs[0] as number[]),
  );
  for (let t = 1; t < T; t++) {
    const next = new Array<number>(K);
    for (let j = 0; j < K; j++) {
      let best = Number.NEGATIVE_INFINITY;
      let arg = 0;
      for (let i = 0; i < K; i++) {
        const s = (delta[i] as number) + (logA[i * K + j] as number);
        if (s > best) {
          best = s;
          arg = i;
        }
      }
      back[t * K + j] = arg;
      next[j] = best + logEmission(model, j, obs[t] as number[]);
    }
    delta = next;
  }
  const path = new Array<number>(T);
  let state = 0;
  for (let k = 1; k < K; k++) if ((delta[k] as number) > (delta[state] as number)) state = k;
  path[T - 1] = state;
  for (let t = T - 1; t > 0; t--) {
    state = back[t * K + state] as number;
    path[t - 1] = state;
  }
  return path;
}

/** Smoothed posteriors P(state_t = k | all observations), [T][K]. */
export function posteriors(model: GaussianHmm, obs: readonly (readonly number[])[]): number[][] {
  const K = model.states;
  const { gamma } = forwardBackward(model, obs);
  return Array.from({ length: obs.length }, (_, t) => Array.from(gamma.subarray(t * K, t * K + K)));
}

/**
 * One step of the forward filter: P(state_t | observations up to t) from the previous filtered
 * probabilities (or undefined at the start). O(K²) per observation, for live use.
 */
export function filterStep(
  model: GaussianHmm,
  prev: readonly number[] | undefined,
  o: readonly number[],
): number[] {
  const K = model.states;
  const logs = Array.from({ length: K }, (_, k) => logEmission(model, k, o));
  const max = Math.max(...logs);
  const out = new Array<number>(K);
  let sum = 0;
  for (let j = 0; j < K; j++) {
    let a = 0;
    if (prev === undefined) a = model.initial[j] as number;
    else for (let i = 0; i < K; i++) a += (prev[i] as number) * (model.transition[i * K + j] as number);
    a *= Math.exp((logs[j] as number) - max);
    out[j] = a;
    sum += a;
  }
  return out.map((a) => (sum > 0 ? a / sum : 1 / K));
}

/** Names for states ordered calm → volatile. */
export function regimeLabels(states: number): string[] {
  if (states === 2) return ["calm", "volatile"];
  if (states === 3) return ["calm", "normal", "volatile"];
  return Array.from({ length: states }, (_, k) => `regime_${k}`);
}
