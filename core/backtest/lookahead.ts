import type { Candle } from "../domain/market.ts";
import type { Strategy } from "../strategy/strategy.ts";

/**
 * Look-ahead detection. A strategy's decision at bar t may depend on bars 0…t only, so running it on
 * the series cut right after bar t must give the same decision at t as running it on the whole series.
 * A strategy (or a signal source) that reads any later bar — directly, or through data prepared from
 * the whole series — decides differently once the future is missing, and is caught.
 */
export interface LookaheadViolation {
  bar: number;
  ts: number;
  /** Decision with the whole series available (undefined = keep). */
  full: number | undefined;
  /** Decision when the series ends at this bar. */
  truncated: number | undefined;
}

/** The decision each bar yields, feeding `strategy` the series in order. */
export function decisions(strategy: Strategy, candles: readonly Candle[]): (number | undefined)[] {
  const out: (number | undefined)[] = new Array(candles.length);
  for (let i = 0; i < candles.length; i++) out[i] = strategy.onBar(candles[i] as Candle, i);
  return out;
}

/**
 * Compares, for each checkpoint bar t, the decision at t on the whole series with the one on
 * `candles[0..t]`. `make` builds a fresh strategy for a given series (the series is passed so that
 * data-dependent sources, such as batch model scores, are rebuilt from exactly what is visible).
 */
export function findLookahead(
  make: (visible: readonly Candle[]) => Strategy,
  candles: readonly Candle[],
  checkpoints: readonly number[],
): LookaheadViolation[] {
  const full = decisions(make(candles), candles);
  const violations: LookaheadViolation[] = [];
  for (const t of checkpoints) {
    if (t < 0 || t >= candles.length) continue;
    const visible = candles.slice(0, t + 1);
    const truncated = decisions(make(visible), visible)[t];
    if (truncated !== full[t]) {
      violations.push({ bar: t, ts: (candles[t] as Candle).ts, full: full[t], truncated });
    }
  }
  return violations;
}
