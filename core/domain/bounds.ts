import { z } from "zod";

/**
 * Finite, meaningful ranges for the numbers tools take, so that values no market means (1e-320,
 * 1e308) are refused with a 400 naming the field instead of overflowing into Infinity downstream
 * (an output schema failing on ±Infinity is an internal error). One place, so every agent agrees.
 */
export const bounds = {
  /** Base amounts of an order or position: a satoshi-sized lot up to a billion units. */
  amount: { min: 1e-12, max: 1e9 },
  /** Prices in quote currency. */
  price: { min: 1e-12, max: 1e9 },
  /** Money: equity, initial cash, initial portfolio value. */
  money: { min: 1e-6, max: 1e15 },
  /** A fraction limit (position size, portfolio risk, correlation, volatility) above zero. */
  fraction: { min: 1e-6, max: 1 },
  /** Gross leverage. */
  leverage: { min: 0.01, max: 1_000 },
  /** A per-period rate (risk-free rate, expected return) as a fraction. */
  rate: { min: -1, max: 1 },
  /** The return of a bet as a fraction of the stake (Kelly). */
  betReturn: { min: 1e-6, max: 1e6 },
  /** A time in UTC ms: from the epoch to the last ms of year 9999 (ISO 8601's four-digit years). */
  timeMs: { min: 0, max: 253_402_300_799_999 },
} as const;

const ranged = (b: { min: number; max: number }, what: string) =>
  z.number().min(b.min, `${what} must be at least ${b.min}`).max(b.max, `${what} must be at most ${b.max}`);

export const Amount = ranged(bounds.amount, "an amount");
export const Price = ranged(bounds.price, "a price");
export const Money = ranged(bounds.money, "an amount of money");
export const FractionLimit = ranged(bounds.fraction, "a fraction");
export const Leverage = ranged(bounds.leverage, "leverage");
export const Rate = ranged(bounds.rate, "a per-period rate");
export const TimeMs = ranged(bounds.timeMs, "a time in UTC ms").int();
