import type { Bar } from "../features/feature-set.ts";
import { RollingWindow } from "./rolling.ts";
import type { Strategy } from "./strategy.ts";

export interface MomentumParams {
  /** The return is measured over this many bars: close_t / close_{t−lookback} − 1. */
  lookback: number;
  /** Dead band: long above +threshold, short (or flat) below −threshold, flat in between. */
  threshold: number;
  allowShort: boolean;
}

/** Time-series momentum over `lookback` bars. */
export function momentum(p: MomentumParams): Strategy {
  if (!(p.lookback >= 1) || !(p.threshold >= 0)) throw new RangeError("need lookback ≥ 1 and threshold ≥ 0");
  const closes = new RollingWindow(p.lookback + 1);
  const down = p.allowShort ? -1 : 0;
  return {
    name: "momentum",
    warmup: p.lookback + 1,
    onBar(bar: Bar): number | undefined {
      closes.push(bar.close);
      if (!closes.full) return undefined;
      const r = bar.close / closes.back(p.lookback) - 1;
      return r > p.threshold ? 1 : r < -p.threshold ? down : 0;
    },
  };
}
