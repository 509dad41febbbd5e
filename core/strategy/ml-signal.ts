import type { Bar } from "../features/feature-set.ts";
import type { SignalSource, Strategy } from "./strategy.ts";

export interface MlSignalParams {
  /** Go long when the model's up-probability is at least this. */
  longAbove: number;
  /** Go short (or flat when shorting is not allowed) when it is at most this; flat in between. */
  shortBelow: number;
  allowShort: boolean;
}

/**
 * Trades a model's probability of an up move. The model is not run here: the probabilities come
 * from a {@link SignalSource} (the inference service live, a batch ONNX scorer in a backtest), so this
 * file stays pure and both paths share the thresholds.
 */
export function mlSignal(p: MlSignalParams, signals: SignalSource, warmup = 1): Strategy {
  if (!(p.shortBelow <= p.longAbove)) throw new RangeError("need shortBelow ≤ longAbove");
  const down = p.allowShort ? -1 : 0;
  return {
    name: "ml_signal",
    warmup,
    onBar(bar: Bar, index: number): number | undefined {
      const prob = signals.probabilityAt(index, bar);
      if (prob === undefined || Number.isNaN(prob)) return undefined;
      return prob >= p.longAbove ? 1 : prob <= p.shortBelow ? down : 0;
    },
  };
}
