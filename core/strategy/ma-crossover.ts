import type { Bar } from "../features/feature-set.ts";
import { RollingWindow } from "./rolling.ts";
import type { Strategy } from "./strategy.ts";

export interface MaCrossoverParams {
  /** Bars of the fast simple moving average of closes. */
  fast: number;
  /** Bars of the slow one (> fast). */
  slow: number;
  allowShort: boolean;
}

/**
 * Moving-average crossover: long while SMA(fast) > SMA(slow); below it flat, or short when shorting is
 * allowed. Equal averages keep the current target. Decides from the bar `slow − 1` on.
 */
export function maCrossover(p: MaCrossoverParams): Strategy {
  if (!(p.fast >= 1 && p.slow > p.fast))
    throw new RangeError(`need 1 ≤ fast < slow, got ${p.fast}/${p.slow}`);
  const fast = new RollingWindow(p.fast);
  const slow = new RollingWindow(p.slow);
  const below = p.allowShort ? -1 : 0;
  return {
    name: "ma_crossover",
    warmup: p.slow,
    onBar(bar: Bar): number | undefined {
      fast.push(bar.close);
      slow.push(bar.close);
      if (!slow.full) return undefined;
      const f = fast.mean();
      const s = slow.mean();
      return f > s ? 1 : f < s ? below : undefined;
    },
  };
}
