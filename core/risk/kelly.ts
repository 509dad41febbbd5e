/**
 * Kelly sizing for a bet that gains `winReturn` (a fraction of the stake, > 0) with probability p and
 * loses |lossReturn| (lossReturn < 0) otherwise. The full Kelly fraction maximises the expected log
 * growth p·ln(1 + f·w) + q·ln(1 + f·l):
 *
 *   f* = p / |l| − q / w        (p = 0.6, w = 1, l = −1 → 0.2)
 *
 * The size used is f*·multiplier (fractional Kelly), never below zero (a negative edge sizes to zero)
 * and never above the position cap. The backtester sizes with this same function.
 */
export interface KellyInput {
  /** Probability of the winning outcome, in [0, 1]. */
  winProbability: number;
  /** Return of a win as a fraction of the stake, > 0 (1.0 = doubles the stake). */
  winReturn: number;
  /** Return of a loss as a fraction of the stake, < 0 (−1.0 = loses the stake). */
  lossReturn: number;
  /** Fraction of full Kelly actually used, in (0, 1]. */
  multiplier: number;
  /** Largest position as a fraction of equity (MAX_POSITION_SIZE). */
  maxPositionSize: number;
}

export interface KellyResult {
  /** Expected return per unit staked: p·w + q·l. */
  edge: number;
  fullKelly: number;
  multiplier: number;
  fractionalKelly: number;
  /** The fraction of equity to put on: max(0, min(fractional, cap)). */
  positionSize: number;
  cappedBy: "max_position_size" | "negative_edge" | null;
  /** Expected log growth per bet at the size used. */
  expectedLogGrowth: number;
  reason: string;
}

export class KellyInputError extends RangeError {
  override name = "KellyInputError";
}

export function kelly(input: KellyInput): KellyResult {
  const { winProbability: p, winReturn: w, lossReturn: l, multiplier, maxPositionSize } = input;
  if (!(p >= 0 && p <= 1)) throw new KellyInputError(`win probability must be in [0, 1], got ${p}`);
  if (!(w > 0) || !Number.isFinite(w))
    throw new KellyInputError(`win return must be a positive number, got ${w}`);
  if (!(l < 0) || !Number.isFinite(l))
    throw new KellyInputError(`loss return must be a negative number, got ${l}`);
  if (!(multiplier > 0 && multiplier <= 1))
    throw new KellyInputError(`Kelly multiplier must be in (0, 1], got ${multiplier}`);
  if (!(maxPositionSize > 0))
    throw new KellyInputError(`max position size must be positive, got ${maxPositionSize}`);
  const q = 1 - p;
  const edge = p * w + q * l;
  const fullKelly = p / -l - q / w;
  const fractionalKelly = fullKelly * multiplier;
  let positionSize: number;
  let cappedBy: KellyResult["cappedBy"] = null;
  let reason: string;
  if (fullKelly <= 0) {
    positionSize = 0;
    cappedBy = "negative_edge";
    reason = `no edge (expected return ${edge.toFixed(4)} per unit staked): size 0`;
  } else if (fractionalKelly > maxPositionSize) {
    positionSize = maxPositionSize;
    cappedBy = "max_position_size";
    reason = `${fmt(multiplier)}× Kelly is ${fmt(fractionalKelly)} of equity, capped at MAX_POSITION_SIZE ${fmt(maxPositionSize)}`;
  } else {
    positionSize = fractionalKelly;
    reason = `${fmt(multiplier)}× Kelly (full Kelly ${fmt(fullKelly)}) is within MAX_POSITION_SIZE ${fmt(maxPositionSize)}`;
  }
  const growth = positionSize === 0 ? 0 : p * Math.log1p(positionSize * w) + q * Math.log1p(positionSize * l);
  return {
    edge,
    fullKelly,
    multiplier,
    fractionalKelly: Math.max(0, fractionalKelly),
    positionSize,
    cappedBy,
    expectedLogGrowth: growth,
    reason,
  };
}

function fmt(x: number): string {
  return Number(x.toPrecision(6)).toString();
}
