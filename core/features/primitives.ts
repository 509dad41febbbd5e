/**
 * The streaming building blocks of the features, each with a batch twin that performs the very same
 * floating-point operations in the very same order, so a feature computed bar by bar and the same
 * feature computed over a whole array are bit-for-bit equal.
 *
 * Streaming forms cost O(1) per value. Rolling moments use the sliding-window Welford update and are
 * recomputed exactly from the window every {@link RESYNC_EVERY} values, which bounds rounding drift on
 * arbitrarily long series (the recomputation is amortised O(1)).
 */

/** Exponential moving average `m ← m + α(x − m)`, seeded with the first value. */
export class Ema {
  private m = Number.NaN;
  constructor(readonly alpha: number) {}
  push(x: number): number {
    const m = this.m;
    this.m = Number.isNaN(m) ? x : m + this.alpha * (x - m);
    return this.m;
  }
  get value(): number {
    return this.m;
  }
}

/** Batch twin of {@link Ema}. */
export function emaSeries(xs: ArrayLike<number>, alpha: number): Float64Array {
  const out = new Float64Array(xs.length);
  let m = Number.NaN;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i] as number;
    m = Number.isNaN(m) ? x : m + alpha * (x - m);
    out[i] = m;
  }
  return out;
}

/** The EMA smoothing factor of an n-period EMA, 2/(n+1). */
export const emaAlpha = (n: number) => 2 / (n + 1);
/** Wilder's smoothing factor, 1/n (RSI, ATR). */
export const wilderAlpha = (n: number) => 1 / n;

export const RESYNC_EVERY = 1024;

/** Exact two-pass mean and sum of squared deviations of a window held in a ring buffer. */
function exactMoments(buf: Float64Array, n: number): [number, number] {
  let s = 0;
  for (let k = 0; k < n; k++) s += buf[k] as number;
  const mean = s / n;
  let m2 = 0;
  for (let k = 0; k < n; k++) {
    const d = (buf[k] as number) - mean;
    m2 += d * d;
  }
  return [mean, m2];
}

/** Mean and population standard deviation of the last `n` values (NaN until `n` values were seen). */
export class RollingMoments {
  private readonly buf: Float64Array;
  private count = 0;
  private mean = 0;
  private m2 = 0;
  constructor(readonly n: number) {
    this.buf = new Float64Array(n);
  }
  push(x: number): void {
    const n = this.n;
    const i = this.count % n;
    if (this.count < n) {
      const delta = x - this.mean;
      this.mean += delta / (this.count + 1);
      this.m2 += delta * (x - this.mean);
    } else {
      const old = this.buf[i] as number;
      const prevMean = this.mean;
      this.mean = prevMean + (x - old) / n;
      this.m2 += (x - old) * (x - this.mean + old - prevMean);
    }
    this.buf[i] = x;
    this.count++;
    if (this.count % RESYNC_EVERY === 0 && this.count >= n) [this.mean, this.m2] = exactMoments(this.buf, n);
  }
  get ready(): boolean {
    return this.count >= this.n;
  }
  get meanValue(): number {
    return this.count >= this.n ? this.mean : Number.NaN;
  }
  get std(): number {
    return this.count >= this.n ? Math.sqrt(Math.max(0, this.m2 / this.n)) : Number.NaN;
  }
}

/** Batch twin of {@link RollingMoments}: per index, the mean and std of the window ending there. */
export function rollingMomentsSeries(
  xs: ArrayLike<number>,
  n: number,
): { mean: Float64Array; std: Float64Array } {
  const len = xs.length;
  const meanOut = new Float64Array(len).fill(Number.NaN);
  const stdOut = new Float64Array(len).fill(Number.NaN);
  const buf = new Float64Array(n);
  let mean = 0;
  let m2 = 0;
  for (let count = 0; count < len; count++) {
    const x = xs[count] as number;
    const i = count % n;
    if (count < n) {
      const delta = x - mean;
      mean += delta / (count + 1);
      m2 += delta * (x - mean);
    } else {
      const old = buf[i] as number;
      const prevMean = mean;
      mean = prevMean + (x - old) / n;
      m2 += (x - old) * (x - mean + old - prevMean);
    }
    buf[i] = x;
    const seen = count + 1;
    if (seen % RESYNC_EVERY === 0 && seen >= n) [mean, m2] = exactMoments(buf, n);
    if (seen >= n) {
      meanOut[count] = mean;
      stdOut[count] = Math.sqrt(Math.max(0, m2 / n));
    }
  }
  return { mean: meanOut, std: stdOut };
}

/** Wilder's relative strength index in [0, 100] from the smoothed gains and losses. */
export function rsiOf(avgGain: number, avgLoss: number): number {
  if (avgLoss === 0) return avgGain === 0 ? 50 : 100;
  return 100 - 100 / (1 + avgGain / avgLoss);
}

/** True range of a bar given the previous close (NaN for the first bar: then it is high − low). */
export function trueRange(high: number, low: number, prevClose: number): number {
  if (Number.isNaN(prevClose)) return high - low;
  return Math.max(high - low, Math.abs(high - prevClose), Math.abs(low - prevClose));
}
