import type { Fee, Side } from "../domain/trading.ts";

/**
 * Trading fees, shared by the paper venue and the backtester.
 *
 * Fees are charged in the quote currency on the notional (`price × amount`) at the maker or taker
 * rate, the way spot venues such as Binance charge them when fees are not paid in a third coin.
 * Rates are fractions (`0.001` = 10 bps = 0.1 %).
 */
export interface FeeSchedule {
  /** Rate on fills that rested on the book (limit orders hit by someone else). */
  readonly maker: number;
  /** Rate on fills that took liquidity (market orders, marketable limits, triggered stops). */
  readonly taker: number;
}

/** Binance spot's base tier: 0.1 % maker and taker. */
export const DEFAULT_FEES: FeeSchedule = { maker: 0.001, taker: 0.001 };

export type Liquidity = "maker" | "taker";

/** The quote currency of a unified symbol (`BTC/USDT` → `USDT`, `BTC/USDT:USDT` → `USDT`). */
export function quoteCurrency(symbol: string): string {
  const slash = symbol.indexOf("/");
  const rest = slash < 0 ? symbol : symbol.slice(slash + 1);
  const colon = rest.indexOf(":");
  return colon < 0 ? rest : rest.slice(0, colon);
}

/** The base currency of a unified symbol (`BTC/USDT` → `BTC`). */
export function baseCurrency(symbol: string): string {
  const slash = symbol.indexOf("/");
  return slash < 0 ? symbol : symbol.slice(0, slash);
}

/** The fee of one fill: `price × amount × rate`, in the quote currency. */
export function feeOf(
  symbol: string,
  price: number,
  amount: number,
  liquidity: Liquidity,
  schedule: FeeSchedule = DEFAULT_FEES,
): Fee {
  const rate = liquidity === "maker" ? schedule.maker : schedule.taker;
  return { currency: quoteCurrency(symbol), cost: price * amount * rate };
}

/**
 * The all-in price of buying or selling one unit at `price` after a fee rate: a buyer pays
 * `price × (1 + rate)`, a seller receives `price × (1 − rate)`. The smart router compares venues on it.
 */
export function allInPrice(side: Side, price: number, rate: number): number {
  return side === "buy" ? price * (1 + rate) : price * (1 - rate);
}
