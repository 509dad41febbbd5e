import {
  Ema,
  RollingMoments,
  emaAlpha,
  emaSeries,
  rollingMomentsSeries,
  rsiOf,
  trueRange,
  wilderAlpha,
} from "./primitives.ts";

/**
 * The feature set `ta16`: sixteen technical features of one instrument's bars, in a fixed order. Both
 * the live inference service and the backtester compute them through this module, so a model sees
 * the same numbers in both. Every feature is scale-free (returns, ratios, z-scores), so one model
 * serves any price level.
 *
 * Two forms that agree bit for bit: {@link computeFeatures} over a whole series (column-wise), and
 * {@link FeatureStream} (O(1) per bar). A row exists for every bar from index `warmup − 1` on.
 */
export const FEATURES = [
  "ret_1",
  "ret_3",
  "ret_5",
  "ret_10",
  "ret_20",
  "ewma_vol",
  "vol_ratio",
  "rsi_14",
  "macd",
  "macd_signal",
  "macd_hist",
  "bb_pctb_20",
  "atr_14",
  "volume_z_20",
  "range",
  "close_location",
] as const;
export type FeatureName = (typeof FEATURES)[number];

export interface FeatureSet {
  /** Stable identifier stored with every model trained on it. */
  readonly name: string;
  readonly features: readonly string[];
  /** Bars consumed before the first row: a row exists for bar index `warmup − 1` and later. */
  readonly warmup: number;
}

export const featureSet: FeatureSet = { name: "ta16", features: FEATURES, warmup: 40 };
export const FEATURE_COUNT = FEATURES.length;

/** The fields of a bar the features read (a {@link import("../domain/market.ts").Candle} fits). */
export interface Bar {
  readonly ts: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
}

/** Rows of features: `rows[k]` belongs to bar `index[k]` (open time `ts[k]`). */
export interface FeatureMatrix {
  readonly features: readonly string[];
  readonly rows: Float64Array[];
  readonly index: number[];
  readonly ts: number[];
}

const RET_LAGS = [1, 3, 5, 10, 20] as const;
const MAX_LAG = 20;
const VOL_SLOW = 0.06; // RiskMetrics λ = 0.94
const VOL_FAST = emaAlpha(5);
const RSI_N = 14;
const ATR_N = 14;
const BB_N = 20;
const VOLUME_N = 20;
const MACD_FAST = emaAlpha(12);
const MACD_SLOW = emaAlpha(26);
const MACD_SIGNAL = emaAlpha(9);

// The per-bar combinations are shared by both forms: the same code on the same inputs.
const volRatio = (fastVar: number, slowVar: number) =>
  slowVar > 0 ? Math.sqrt(fastVar) / Math.sqrt(slowVar) - 1 : 0;
const pctB = (close: number, mean: number, std: number) =>
  std > 0 ? (close - (mean - 2 * std)) / (4 * std) : 0.5;
const zScore = (x: number, mean: number, std: number) => (std > 0 ? (x - mean) / std : 0);
const closeLocation = (b: Bar) =>
  b.high > b.low ? (b.close - b.low - (b.high - b.close)) / (b.high - b.low) : 0;
const logVolume = (v: number) => Math.log1p(v);

/** Fills one row from the per-bar state; the order of writes is the order of {@link FEATURES}. */
function writeRow(
  row: Float64Array,
  bar: Bar,
  rets: readonly number[],
  s: {
    slowVar: number;
    fastVar: number;
    avgGain: number;
    avgLoss: number;
    ema12: number;
    ema26: number;
    signal: number;
    bbMean: number;
    bbStd: number;
    atr: number;
    lv: number;
    lvMean: number;
    lvStd: number;
  },
): void {
  for (let k = 0; k < RET_LAGS.length; k++) row[k] = rets[k] as number;
  row[5] = Math.sqrt(s.slowVar);
  row[6] = volRatio(s.fastVar, s.slowVar);
  row[7] = rsiOf(s.avgGain, s.avgLoss) / 100 - 0.5;
  const macd = (s.ema12 - s.ema26) / bar.close;
  row[8] = macd;
  row[9] = s.signal;
  row[10] = macd - s.signal;
  row[11] = pctB(bar.close, s.bbMean, s.bbStd);
  row[12] = s.atr / bar.close;
  row[13] = zScore(s.lv, s.lvMean, s.lvStd);
  row[14] = (bar.high - bar.low) / bar.close;
  row[15] = closeLocation(bar);
}

/** Batch form: the features of every bar of a series (column-wise), from bar `warmup − 1` on. */
export function computeFeatures(bars: readonly Bar[]): FeatureMatrix {
  const n = bars.length;
  const close = new Float64Array(n);
  const ret1 = new Float64Array(n);
  const sq = new Float64Array(n);
  const gain = new Float64Array(n);
  const loss = new Float64Array(n);
  const tr = new Float64Array(n);
  const lv = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const b = bars[i] as Bar;
    close[i] = b.close;
    lv[i] = logVolume(b.volume);
    const prev = i > 0 ? (bars[i - 1] as Bar).close : Number.NaN;
    tr[i] = trueRange(b.high, b.low, prev);
    const r = i > 0 ? Math.log(b.close / prev) : 0;
    ret1[i] = r;
    sq[i] = r * r;
    const change = i > 0 ? b.close - prev : 0;
    gain[i] = Math.max(change, 0);
    loss[i] = Math.max(-change, 0);
  }
  // Return-based smoothers start at bar 1 (bar 0 has no return).
  const from1 = (xs: Float64Array, alpha: number) => {
    const out = new Float64Array(n);
    if (n > 1) out.set(emaSeries(xs.subarray(1), alpha), 1);
    return out;
  };
  const slowVar = from1(sq, VOL_SLOW);
  const fastVar = from1(sq, VOL_FAST);
  const avgGain = from1(gain, wilderAlpha(RSI_N));
  const avgLoss = from1(loss, wilderAlpha(RSI_N));
  const atr = emaSeries(tr, wilderAlpha(ATR_N));
  const ema12 = emaSeries(close, MACD_FAST);
  const ema26 = emaSeries(close, MACD_SLOW);
  const macd = new Float64Array(n);
  for (let i = 0; i < n; i++) macd[i] = ((ema12[i] as number) - (ema26[i] as number)) / (close[i] as number);
  const signal = emaSeries(macd, MACD_SIGNAL);
  const bb = rollingMomentsSeries(close, BB_N);
  const vol = rollingMomentsSeries(lv, VOLUME_N);

  const rows: Float64Array[] = [];
  const index: number[] = [];
  const ts: number[] = [];
  const rets = new Array<number>(RET_LAGS.length);
  for (let i = featureSet.warmup - 1; i < n; i++) {
    const c = close[i] as number;
    for (let k = 0; k < RET_LAGS.length; k++)
      rets[k] = Math.log(c / (close[i - (RET_LAGS[k] as number)] as number));
    const row = new Float64Array(FEATURE_COUNT);
    writeRow(row, bars[i] as Bar, rets, {
      slowVar: slowVar[i] as number,
      fastVar: fastVar[i] as number,
      avgGain: avgGain[i] as number,
      avgLoss: avgLoss[i] as number,
      ema12: ema12[i] as number,
      ema26: ema26[i] as number,
      signal: signal[i] as number,
      bbMean: bb.mean[i] as number,
      bbStd: bb.std[i] as number,
      atr: atr[i] as number,
      lv: lv[i] as number,
      lvMean: vol.mean[i] as number,
      lvStd: vol.std[i] as number,
    });
    rows.push(row);
    index.push(i);
    ts.push((bars[i] as Bar).ts);
  }
  return { features: FEATURES, rows, index, ts };
}

/**
 * Streaming form: push bars in time order; each push returns the new bar's feature row (a fresh
 * array), or undefined while warming up. O(1) time and memory per bar.
 */
export class FeatureStream {
  private count = 0;
  private lastTs = Number.NEGATIVE_INFINITY;
  private readonly closes = new Float64Array(MAX_LAG + 1);
  private readonly slowVar = new Ema(VOL_SLOW);
  private readonly fastVar = new Ema(VOL_FAST);
  private readonly avgGain = new Ema(wilderAlpha(RSI_N));
  private readonly avgLoss = new Ema(wilderAlpha(RSI_N));
  private readonly atr = new Ema(wilderAlpha(ATR_N));
  private readonly ema12 = new Ema(MACD_FAST);
  private readonly ema26 = new Ema(MACD_SLOW);
  private readonly signal = new Ema(MACD_SIGNAL);
  private readonly bb = new RollingMoments(BB_N);
  private readonly vol = new RollingMoments(VOLUME_N);
  private readonly rets = new Array<number>(RET_LAGS.length);

  /** Bars pushed so far. */
  get length(): number {
    return this.count;
  }
  get ready(): boolean {
    return this.count >= featureSet.warmup;
  }
  /** Open time of the last bar pushed. */
  get lastBarTs(): number {
    return this.lastTs;
  }

  push(bar: Bar): Float64Array | undefined {
    const i = this.count;
    const c = bar.close;
    const prev = i > 0 ? (this.closes[(i - 1) % (MAX_LAG + 1)] as number) : Number.NaN;
    this.closes[i % (MAX_LAG + 1)] = c;
    const atr = this.atr.push(trueRange(bar.high, bar.low, prev));
    const ema12 = this.ema12.push(c);
    const ema26 = this.ema26.push(c);
    const signal = this.signal.push((ema12 - ema26) / c);
    const lv = logVolume(bar.volume);
    this.bb.push(c);
    this.vol.push(lv);
    let slowVar = 0;
    let fastVar = 0;
    let avgGain = 0;
    let avgLoss = 0;
    if (i > 0) {
      const r = Math.log(c / prev);
      slowVar = this.slowVar.push(r * r);
      fastVar = this.fastVar.push(r * r);
      const change = c - prev;
      avgGain = this.avgGain.push(Math.max(change, 0));
      avgLoss = this.avgLoss.push(Math.max(-change, 0));
    }
    this.count = i + 1;
    this.lastTs = bar.ts;
    if (this.count < featureSet.warmup) return undefined;
    for (let k = 0; k < RET_LAGS.length; k++) {
      const lag = RET_LAGS[k] as number;
      this.rets[k] = Math.log(c / (this.closes[(i - lag) % (MAX_LAG + 1)] as number));
    }
    const row = new Float64Array(FEATURE_COUNT);
    writeRow(row, bar, this.rets, {
      slowVar,
      fastVar,
      avgGain,
      avgLoss,
      ema12,
      ema26,
      signal,
      bbMean: this.bb.meanValue,
      bbStd: this.bb.std,
      atr,
      lv,
      lvMean: this.vol.meanValue,
      lvStd: this.vol.std,
    });
    return row;
  }
}
