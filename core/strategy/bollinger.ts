import type { Bar } from "../features/feature-set.ts";
import { RollingWindow } from "./rolling.ts";
import type { Strategy } from "./strategy.ts";

export interface BollingerParams {
  /** Bars of the moving average and standard deviation (population) of closes. */
  period: number;
  /** Band width in standard deviations. */
  stdDevs: number;
  allowShort: boolean;
}

/**
 * Bollinger mean reversion: buy when the close falls below the lower band, exit the long when it gets
 * back to the middle band; (when shorting is allowed) sell short above the upper band and cover at
 * the middle. The bands include the current bar.
 */
export function bollingerReversion(p: BollingerParams): Strategy {
  if (!(p.period >= 2) || !(p.stdDevs > 0)) throw new RangeError("need period ≥ 2 and stdDevs > 0");
  const w = new RollingWindow(p.period);
  let target = 0;
  return {
    name: "bollinger",
    warmup: p.period,
    onBar(bar: Bar): number | undefined {
      w.push(bar.close);
      if (!w.full) return undefined;
      const mid = w.mean();
      const band = p.stdDevs * w.std();
      const c = bar.close;
      let next = target;
      if (target === 0) {
        if (c < mid - band) next = 1;
        else if (p.allowShort && c > mid + band) next = -1;
      } else if (target > 0 && c >= mid) {
        next = p.allowShort && c > mid + band ? -1 : 0;
      } else if (target < 0 && c <= mid) {
        next = c < mid - band ? 1 : 0;
      }
      if (next === target) return undefined;
      target = next;
      return next;
    },
  };
}
