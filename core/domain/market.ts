import { z } from "zod";

/** A unified ccxt symbol: `BASE/QUOTE`, or `BASE/QUOTE:SETTLE` for a derivative. The one spelling of its rule. */
export const UNIFIED_SYMBOL = /^[A-Z0-9]+\/[A-Z0-9]+(:[A-Z0-9]+)?$/;
export const UnifiedSymbol = z.string().regex(UNIFIED_SYMBOL, "a unified symbol such as BTC/USDT");

/** Market data as it travels on the MARKET stream. Timestamps are integer UTC milliseconds. */
const TimestampMs = z.number().int().nonnegative();

export const Timeframe = z.enum(["1m", "5m", "15m", "1h", "4h", "1d"]);
export type Timeframe = z.infer<typeof Timeframe>;
export const timeframeMs: Record<Timeframe, number> = {
  "1m": 60_000,
  "5m": 300_000,
  "15m": 900_000,
  "1h": 3_600_000,
  "4h": 14_400_000,
  "1d": 86_400_000,
};

const ohlcv = {
  ts: TimestampMs,
  open: z.number().positive(),
  high: z.number().positive(),
  low: z.number().positive(),
  close: z.number().positive(),
  volume: z.number().nonnegative(),
};
const consistent = (c: { open: number; high: number; low: number; close: number }) =>
  c.low <= Math.min(c.open, c.close) && c.high >= Math.max(c.open, c.close);
const inconsistent = { message: "low must be ≤ open, close and high must be ≥ them" };

/** One OHLCV bar without its market; `ts` is the bar's open time. */
export const Bar = z.object(ohlcv).refine(consistent, inconsistent);
export type Bar = z.infer<typeof Bar>;

/** One OHLCV bar of a market; `ts` is the bar's open time. Published as `candle.closed`. */
export const Candle = z
  .object({ venue: z.string().min(1), symbol: z.string().min(1), timeframe: Timeframe, ...ohlcv })
  .refine(consistent, inconsistent);
export type Candle = z.infer<typeof Candle>;

/** Best bid/ask and last trade. Published as `ticker.updated`. */
export const Ticker = z.object({
  venue: z.string().min(1),
  symbol: z.string().min(1),
  bid: z.number().positive().optional(),
  ask: z.number().positive().optional(),
  last: z.number().positive(),
  timestamp: TimestampMs,
});
export type Ticker = z.infer<typeof Ticker>;

/** [price, amount] */
export const BookLevel = z.tuple([z.number().positive(), z.number().positive()]);
export type BookLevel = z.infer<typeof BookLevel>;

/** An order book snapshot: bids descending, asks ascending. Published as `book.updated`. */
export const OrderBook = z.object({
  venue: z.string().min(1),
  symbol: z.string().min(1),
  bids: z.array(BookLevel),
  asks: z.array(BookLevel),
  timestamp: TimestampMs,
});
export type OrderBook = z.infer<typeof OrderBook>;

/** A model's view of the next move. Published as `signal.generated` on `events.signal.<symbol>`. */
export const Signal = z.object({
  symbol: z.string().min(1),
  venue: z.string().min(1),
  direction: z.enum(["long", "short", "flat"]),
  /** Probability of an up move. */
  probability: z.number().min(0).max(1),
  modelVersion: z.string().min(1),
  regime: z.string().optional(),
  /** The candle (open time) the signal was computed from. */
  ts: TimestampMs,
});
export type Signal = z.infer<typeof Signal>;

export const marketEventType = {
  candle: "candle.closed",
  ticker: "ticker.updated",
  book: "book.updated",
  trade: "trade.printed",
  signal: "signal.generated",
} as const;
