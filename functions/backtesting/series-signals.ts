import type { SignalSource } from "../../core/strategy/strategy.ts";

/** A signal source over precomputed per-bar probabilities (NaN: no signal yet). */
export function seriesSignals(probs: Float64Array): SignalSource {
  return {
    probabilityAt(index: number) {
      const p = probs[index];
      return p === undefined || Number.isNaN(p) ? undefined : p;
    },
  };
}
