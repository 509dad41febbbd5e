import { createRandom } from "../math/random.ts";
import type { Scaler } from "./dataset.ts";

/**
 * The two model kinds Bot4 trains in TypeScript. Both standardise their input with the training
 * scaler and output the probability of an up move; the ONNX export ({@link import("./onnx-export.ts")})
 * bakes the scaler in, so the served model takes raw feature rows.
 */
export interface LogisticModel {
  kind: "logistic";
  features: readonly string[];
  scaler: Scaler;
  weights: number[];
  bias: number;
}

/** One hidden tanh layer: p = σ(tanh(z·W1 + b1)·w2 + b2), W1 row-major [features][hidden]. */
export interface MlpModel {
  kind: "mlp";
  features: readonly string[];
  scaler: Scaler;
  hidden: number;
  w1: number[];
  b1: number[];
  w2: number[];
  b2: number;
}

export type Model = LogisticModel | MlpModel;
export type ModelKind = Model["kind"];

export const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

function standardise(row: ArrayLike<number>, scaler: Scaler, out: Float64Array): Float64Array {
  for (let j = 0; j < out.length; j++)
    out[j] = ((row[j] as number) - (scaler.mean[j] as number)) / (scaler.std[j] as number);
  return out;
}

/** Probability of an up move for one raw feature row. */
export function predictProba(model: Model, row: ArrayLike<number>): number {
  const f = model.features.length;
  const z = standardise(row, model.scaler, new Float64Array(f));
  if (model.kind === "logistic") {
    let s = model.bias;
    for (let j = 0; j < f; j++) s += (z[j] as number) * (model.weights[j] as number);
    return sigmoid(s);
  }
  let out = model.b2;
  for (let h = 0; h < model.hidden; h++) {
    let a = model.b1[h] as number;
    for (let j = 0; j < f; j++) a += (z[j] as number) * (model.w1[j * model.hidden + h] as number);
    out += Math.tanh(a) * (model.w2[h] as number);
  }
  return sigmoid(out);
}

export const predictAll = (model: Model, x: readonly ArrayLike<number>[]) =>
  Float64Array.from(x, (row) => predictProba(model, row));

/** Solves A x = b for a symmetric positive definite A (n×n row-major) by Cholesky. */
function choleskySolve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j] as number;
      for (let k = 0; k < j; k++) s -= (l[i * n + k] as number) * (l[j * n + k] as number);
      if (i === j) l[i * n + i] = Math.sqrt(Math.max(s, 1e-300));
      else l[i * n + j] = s / (l[j * n + j] as number);
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (l[i * n + k] as number) * (y[k] as number);
    y[i] = s / (l[i * n + i] as number);
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i] as number;
    for (let k = i + 1; k < n; k++) s -= (l[k * n + i] as number) * (x[k] as number);
    x[i] = s / (l[i * n + i] as number);
  }
  return x;
}

export interface LogisticOptions {
  /** L2 penalty on the weights (not the bias), per row. Default 1e-3. */
  l2?: number;
  maxIterations?: number;
}

/**
 * L2-regularised logistic regression by Newton's method (IRLS) on standardised features: the
 * penalised log-likelihood is strictly concave, so this converges to its unique maximum in a few steps.
 */
export function trainLogistic(
  x: readonly Float64Array[],
  y: ArrayLike<number>,
  features: readonly string[],
  scaler: Scaler,
  options: LogisticOptions = {},
): LogisticModel {
  const f = features.length;
  const d = f + 1;
  const n = x.length;
  const l2 = (options.l2 ?? 1e-3) * n;
  const z = x.map((row) => standardise(row, scaler, new Float64Array(f)));
  const beta = new Float64Array(d); // [bias, w…]
  const feat = (row: Float64Array, k: number) => (k === 0 ? 1 : (row[k - 1] as number));
  for (let iter = 0; iter < (options.maxIterations ?? 50); iter++) {
    const grad = new Float64Array(d);
    const hess = new Float64Array(d * d);
    for (let i = 0; i < n; i++) {
      const row = z[i] as Float64Array;
      let s = 0;
      for (let k = 0; k < d; k++) s += (beta[k] as number) * feat(row, k);
      const p = sigmoid(s);
      const r = (y[i] as number) - p;
      const w = p * (1 - p);
      for (let a = 0; a < d; a++) {
        const fa = feat(row, a);
        grad[a]! += r * fa;
        for (let b = 0; b <= a; b++) hess[a * d + b]! += w * fa * feat(row, b);
      }
    }
    for (let a = 1; a < d; a++) {
      grad[a]! -= l2 * (beta[a] as number);
      hess[a * d + a]! += l2;
    }
    hess[0]! += 1e-9;
    for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) hess[b * d + a] = hess[a * d + b] as number;
    const step = choleskySolve(hess, grad, d);
    let norm = 0;
    for (let k = 0; k < d; k++) {
      beta[k]! += step[k] as number;
      norm = Math.max(norm, Math.abs(step[k] as number));
    }
    if (norm < 1e-10) break;
  }
  return {
    kind: "logistic",
    features,
    scaler,
    bias: beta[0] as number,
    weights: Array.from(beta.subarray(1)),
  };
}

export interface MlpOptions {
  hidden?: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** Decoupled weight decay (AdamW). */
  weightDecay?: number;
  seed?: number | string;
}

/** A one-hidden-layer tanh network trained with AdamW on the log loss, seeded and deterministic. */
export function trainMlp(
  x: readonly Float64Array[],
  y: ArrayLike<number>,
  features: readonly string[],
  scaler: Scaler,
  options: MlpOptions = {},
): MlpModel {
  const f = features.length;
  const hidden = options.hidden ?? 16;
  const epochs = options.epochs ?? 20;
  const batch = options.batchSize ?? 64;
  const lr = options.learningRate ?? 0.005;
  const decay = options.weightDecay ?? 1e-3;
  const rng = createRandom(options.seed ?? "mlp");
  const n = x.length;
  const z = x.map((row) => standardise(row, scaler, new Float64Array(f)));
  // Parameters in one vector: W1 [f×hidden], b1 [hidden], w2 [hidden], b2.
  const nW1 = f * hidden;
  const size = nW1 + 2 * hidden + 1;
  const theta = new Float64Array(size);
  const scale1 = Math.sqrt(1 / f);
  for (let k = 0; k < nW1; k++) theta[k] = rng.normal() * scale1;
  for (let h = 0; h < hidden; h++) theta[nW1 + hidden + h] = rng.normal() * Math.sqrt(1 / hidden) * 0.1;
  const m = new Float64Array(size);
  const v = new Float64Array(size);
  const grad = new Float64Array(size);
  const act = new Float64Array(hidden);
  const order = Array.from({ length: n }, (_, i) => i);
  const b1 = nW1;
  const w2 = nW1 + hidden;
  const b2 = nW1 + 2 * hidden;
  let t = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      const tmp = order[i] as number;
      order[i] = order[j] as number;
      order[j] = tmp;
    }
    for (let start = 0; start < n; start += batch) {
      const end = Math.min(n, start + batch);
      grad.fill(0);
      for (let q = start; q < end; q++) {
        const i = order[q] as number;
        const row = z[i] as Float64Array;
        let out = theta[b2] as number;
        for (let h = 0; h < hidden; h++) {
          let a = theta[b1 + h] as number;
          for (let j = 0; j < f; j++) a += (row[j] as number) * (theta[j * hidden + h] as number);
          const th = Math.tanh(a);
          act[h] = th;
          out += th * (theta[w2 + h] as number);
        }
        const err = sigmoid(out) - (y[i] as number); // d logloss / d logit
        grad[b2]! += err;
        for (let h = 0; h < hidden; h++) {
          const th = act[h] as number;
          grad[w2 + h]! += err * th;
          const back = err * (theta[w2 + h] as number) * (1 - th * th);
          grad[b1 + h]! += back;
          for (let j = 0; j < f; j++) grad[j * hidden + h]! += back * (row[j] as number);
        }
      }
      t++;
      const count = end - start;
      const c1 = 1 - 0.9 ** t;
      const c2 = 1 - 0.999 ** t;
      for (let k = 0; k < size; k++) {
        const g = (grad[k] as number) / count;
        m[k] = 0.9 * (m[k] as number) + 0.1 * g;
        v[k] = 0.999 * (v[k] as number) + 0.001 * g * g;
        const isWeight = k < nW1 || (k >= w2 && k < b2);
        theta[k] =
          (theta[k] as number) -
          lr * ((m[k] as number) / c1 / (Math.sqrt((v[k] as number) / c2) + 1e-8)) -
          (isWeight ? lr * decay * (theta[k] as number) : 0);
      }
    }
  }
  return {
    kind: "mlp",
    features,
    scaler,
    hidden,
    w1: Array.from(theta.subarray(0, nW1)),
    b1: Array.from(theta.subarray(b1, w2)),
    w2: Array.from(theta.subarray(w2, b2)),
    b2: theta[b2] as number,
  };
}
