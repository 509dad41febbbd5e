import type { Bar } from "../features/feature-set.ts";

/**
 * The strategy interface shared by the backtester and the live path. A strategy is a deterministic
 * state machine fed CLOSED bars of one instrument in time order; after each bar it may name a new
 * target exposure. It sees nothing but the bars it has been fed (no clock, no I/O), so it cannot look
 * ahead and the same bars always give the same decisions.
 *
 * The target is a signed fraction in [-1, 1]: +1 = fully long, -1 = fully short, 0 = flat. Sizing
 * (orders.ts) turns it into an amount; the fill model turns that into fills.
 */
export interface Strategy {
  readonly name: string;
  /** Bars consumed before the first decision can be made. */
  readonly warmup: number;
  /**
   * Called once per closed bar (`index` counts bars fed since construction, from 0). Returns the new
   * target, or undefined to keep the current one.
   */
  onBar(bar: Bar, index: number): number | undefined;
}

/**
 * A source of model probabilities for the ML-signal strategy: the probability of an up move computed
 * from bars up to and including `index` (never later ones), or undefined when there is none. Live, it
 * is the latest `signal.generated` for the bar; in a backtest, a batch score of the same features.
 */
export interface SignalSource {
  probabilityAt(index: number, bar: Bar): number | undefined;
}
