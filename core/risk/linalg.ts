/**
 * Small dense linear algebra on row-major Float64Arrays: covariance, Cholesky, solves. Pure, no
 * dependencies; sized for portfolios (tens to a few hundred assets).
 */

/** A square matrix, row-major, `n × n`. */
export interface Matrix {
  readonly n: number;
  readonly data: Float64Array;
}

export class LinearAlgebraError extends Error {
  override name = "LinearAlgebraError";
}

export function matrix(rows: readonly (readonly number[])[]): Matrix {
  const n = rows.length;
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const row = rows[i] as readonly number[];
    if (row.length !== n)
      throw new LinearAlgebraError(
        `matrix must be square: row ${i} has ${row.length} entries, expected ${n}`,
      );
    for (let j = 0; j < n; j++) data[i * n + j] = row[j] as number;
  }
  return { n, data };
}

export function toRows(m: Matrix): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < m.n; i++) rows.push(Array.from(m.data.subarray(i * m.n, (i + 1) * m.n)));
  return rows;
}

/** Column means of a `T × N` series (rows are observations). */
export function means(series: readonly (readonly number[])[], n: number): Float64Array {
  const mu = new Float64Array(n);
  for (const row of series) for (let j = 0; j < n; j++) mu[j] = (mu[j] as number) + (row[j] as number);
  for (let j = 0; j < n; j++) mu[j] = (mu[j] as number) / series.length;
  return mu;
}

/** Sample covariance (divisor T − 1) of a `T × N` series. */
export function covariance(series: readonly (readonly number[])[], n: number): Matrix {
  const t = series.length;
  if (t < 2) throw new LinearAlgebraError(`covariance needs at least 2 observations, got ${t}`);
  const mu = means(series, n);
  const data = new Float64Array(n * n);
  const d = new Float64Array(n);
  for (const row of series) {
    for (let j = 0; j < n; j++) d[j] = (row[j] as number) - (mu[j] as number);
    for (let i = 0; i < n; i++) {
      const di = d[i] as number;
      for (let j = 0; j <= i; j++) data[i * n + j] = (data[i * n + j] as number) + di * (d[j] as number);
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = (data[i * n + j] as number) / (t - 1);
      data[i * n + j] = v;
      data[j * n + i] = v;
    }
  }
  return { n, data };
}

/** Correlation from a covariance matrix; a zero-variance asset gets 0 off the diagonal. */
export function correlationOf(cov: Matrix): Matrix {
  const { n } = cov;
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const si = Math.sqrt(cov.data[i * n + i] as number);
      const sj = Math.sqrt(cov.data[j * n + j] as number);
      data[i * n + j] =
        i === j
          ? 1
          : si > 0 && sj > 0
            ? Math.max(-1, Math.min(1, (cov.data[i * n + j] as number) / (si * sj)))
            : 0;
    }
  }
  return { n, data };
}

/** Σ = D·C·D from volatilities and a correlation matrix. */
export function covarianceFrom(vol: ArrayLike<number>, corr: Matrix): Matrix {
  const { n } = corr;
  if (vol.length !== n)
    throw new LinearAlgebraError(`${vol.length} volatilities for a ${n}×${n} correlation matrix`);
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      data[i * n + j] = (vol[i] as number) * (corr.data[i * n + j] as number) * (vol[j] as number);
  return { n, data };
}

/**
 * The lower-triangular L with L·Lᵀ = A. Throws a LinearAlgebraError naming the pivot when A is not
 * symmetric positive definite (singular, or with a negative eigenvalue).
 */
export function cholesky(a: Matrix, what = "matrix"): Matrix {
  const { n } = a;
  const l = new Float64Array(n * n);
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(a.data[i * n + i] as number));
  const tolerance = 1e-12 * Math.max(scale, Number.MIN_VALUE);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const aij = a.data[i * n + j] as number;
      const aji = a.data[j * n + i] as number;
      if (Math.abs(aij - aji) > 1e-9 * Math.max(1, Math.abs(aij))) {
        throw new LinearAlgebraError(`${what} is not symmetric at (${i}, ${j}): ${aij} vs ${aji}`);
      }
    }
    for (let j = 0; j <= i; j++) {
      let sum = a.data[i * n + j] as number;
      for (let k = 0; k < j; k++) sum -= (l[i * n + k] as number) * (l[j * n + k] as number);
      if (i === j) {
        if (!(sum > tolerance)) {
          throw new LinearAlgebraError(
            `${what} is not positive definite (singular or indefinite): pivot ${i} is ${sum.toExponential(3)}`,
          );
        }
        l[i * n + i] = Math.sqrt(sum);
      } else {
        l[i * n + j] = sum / (l[j * n + j] as number);
      }
    }
  }
  return { n, data: l };
}

/** Solves A·x = b given A's Cholesky factor L. */
export function choleskySolve(l: Matrix, b: ArrayLike<number>): Float64Array {
  const { n } = l;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (l.data[i * n + k] as number) * (y[k] as number);
    y[i] = s / (l.data[i * n + i] as number);
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i] as number;
    for (let k = i + 1; k < n; k++) s -= (l.data[k * n + i] as number) * (x[k] as number);
    x[i] = s / (l.data[i * n + i] as number);
  }
  return x;
}

/** y = A·x */
export function mulVec(a: Matrix, x: ArrayLike<number>, out = new Float64Array(a.n)): Float64Array {
  const { n, data } = a;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += (data[i * n + j] as number) * (x[j] as number);
    out[i] = s;
  }
  return out;
}

/** xᵀ·A·x */
export function quadForm(a: Matrix, x: ArrayLike<number>): number {
  const { n, data } = a;
  let s = 0;
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let j = 0; j < n; j++) r += (data[i * n + j] as number) * (x[j] as number);
    s += (x[i] as number) * r;
  }
  return s;
}

/** The submatrix of the given rows/columns. */
export function subMatrix(a: Matrix, idx: readonly number[]): Matrix {
  const m = idx.length;
  const data = new Float64Array(m * m);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < m; j++)
      data[i * m + j] = a.data[(idx[i] as number) * a.n + (idx[j] as number)] as number;
  return { n: m, data };
}
