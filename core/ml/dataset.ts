import { type Bar, computeFeatures, featureSet } from "../features/feature-set.ts";

/** Feature rows with next-move labels, in time order. */
export interface Dataset {
  features: readonly string[];
  x: Float64Array[];
  /** 1 when the close `horizon` bars ahead is above the row's close, else 0. */
  y: Uint8Array;
  ts: number[];
}

/** Builds the supervised set: the feature rows of `bars` whose label is known (the last `horizon` are not). */
export function buildDataset(bars: readonly Bar[], horizon = 1): Dataset {
  const m = computeFeatures(bars);
  const x: Float64Array[] = [];
  const y: number[] = [];
  const ts: number[] = [];
  for (let k = 0; k < m.rows.length; k++) {
    const i = m.index[k] as number;
    const future = bars[i + horizon];
    if (future === undefined) break;
    x.push(m.rows[k] as Float64Array);
    y.push(future.close > (bars[i] as Bar).close ? 1 : 0);
    ts.push(m.ts[k] as number);
  }
  return { features: featureSet.features, x, y: Uint8Array.from(y), ts };
}

export interface Split {
  train: Dataset;
  validation: Dataset;
}

/**
 * Time-ordered split: the first part trains, the last `validationFraction` validates, and `gap` rows
 * between them are dropped so no training label overlaps a validation row's window (use the horizon).
 */
export function timeSplit(data: Dataset, validationFraction: number, gap = 1): Split {
  const n = data.x.length;
  const nVal = Math.floor(n * validationFraction);
  const trainEnd = Math.max(0, n - nVal - gap);
  const part = (from: number, to: number): Dataset => ({
    features: data.features,
    x: data.x.slice(from, to),
    y: data.y.slice(from, to),
    ts: data.ts.slice(from, to),
  });
  return { train: part(0, trainEnd), validation: part(n - nVal, n) };
}

/** Per-feature mean and standard deviation of the training rows (std 1 for a constant feature). */
export interface Scaler {
  mean: number[];
  std: number[];
}

export function fitScaler(x: readonly Float64Array[], width: number): Scaler {
  const mean = new Array<number>(width).fill(0);
  const std = new Array<number>(width).fill(0);
  for (const row of x) for (let j = 0; j < width; j++) mean[j]! += row[j] as number;
  for (let j = 0; j < width; j++) mean[j] = (mean[j] as number) / Math.max(1, x.length);
  for (const row of x)
    for (let j = 0; j < width; j++) std[j]! += ((row[j] as number) - (mean[j] as number)) ** 2;
  for (let j = 0; j < width; j++) {
    const s = Math.sqrt((std[j] as number) / Math.max(1, x.length));
    std[j] = s > 1e-12 ? s : 1;
  }
  return { mean, std };
}
