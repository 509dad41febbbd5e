import type { Candle } from "../domain/market.ts";

/**
 * Prices on a venue's tick: the grid every price of a book, a trade or a limit order lies on. Pure.
 * Results are exact decimals of the tick (no 50443.170000000006): the multiple is rounded to the
 * tick's own number of decimals.
 */
export type TickRounding = "nearest" | "down" | "up";

/** Decimals of the tick sizes seen (a venue has a few): computed once each, at most 256 kept. */
const decimalsByTick = new Map<number, number>();

/** Decimals of a tick size (0.01 → 2, 0.5 → 1, 1e-8 → 8, 5 → 0); at most 12. */
export function tickDecimals(tick: number): number {
  let d = decimalsByTick.get(tick);
  if (d === undefined) {
    d = decimalsOf(tick);
    if (decimalsByTick.size >= 256) decimalsByTick.clear();
    decimalsByTick.set(tick, d);
  }
  return d;
}

function decimalsOf(tick: number): number {
  for (let d = 0; d <= 12; d++) {
    const scaled = tick * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-9 * Math.max(1, scaled)) return d;
  }
  return 12;
}

export function roundToTick(price: number, tick: number, mode: TickRounding = "nearest"): number {
  if (!(tick > 0)) return price;
  const units = price / tick;
  // A hair of tolerance so a price already on the tick is never pushed to the next one.
  const k =
    mode === "down" ? Math.floor(units + 1e-9) : mode === "up" ? Math.ceil(units - 1e-9) : Math.round(units);
  return Number((k * tick).toFixed(tickDecimals(tick)));
}

/** A candle with open, high, low and close on the tick (rounding is monotone, so high ≥ open, close ≥ low holds). */
export function candleOnTick(candle: Candle, tick: number): Candle {
  return {
    ...candle,
    open: roundToTick(candle.open, tick),
    high: roundToTick(candle.high, tick),
    low: roundToTick(candle.low, tick),
    close: roundToTick(candle.close, tick),
  };
}
