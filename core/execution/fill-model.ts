import type { Candle, OrderBook } from "../domain/market.ts";
import type { Fee, OrderType, Side } from "../domain/trading.ts";
import { DEFAULT_FEES, type FeeSchedule, feeOf, type Liquidity } from "./fees.ts";

/**
 * The fill model: given a working order and one piece of market state, which fills happen. Pure — no
 * clock, no I/O, no randomness — so the paper venue and the backtester (which both import it) produce
 * the same fills from the same data.
 *
 * PUBLIC API (stable; other agents import it):
 *   fillAgainstBook(order, book, options?)    → FillOutcome   depth-based, partial fills
 *   fillAgainstCandle(order, candle, options?) → FillOutcome  bar-based
 *   stopTriggeredByBook(order, book) / stopTriggeredByCandle(order, candle) → boolean
 *   applyOutcome(order, outcome) → WorkingOrder                the order after the outcome
 *   FillModelOptions, WorkingOrder, SimulatedFill, FillOutcome, DEFAULT_FILL_OPTIONS
 *
 * A WorkingOrder carries the order's REMAINING amount; the caller keeps the total. Every call returns
 * the fills of this step and the order's `triggered` state after it; an order whose `remaining` is 0
 * is done. Nothing here rounds to a venue's precision: the venue adapter does.
 *
 * ── Book model (paper venue with depth) ────────────────────────────────────────────────────────────
 * - `market`: walks the opposite side (asks for a buy, bids for a sell) level by level, taking each
 *   level's amount at that level's price, moved against the order by `slippageBps`; taker. Depth that
 *   runs out leaves `remaining > 0` and `exhausted = true` (the venue cancels the rest: market orders
 *   do not rest).
 * - `limit` on arrival (`phase: "arrival"`): the marketable part fills as a taker against levels at or
 *   better than the limit (asks ≤ limit for a buy), at the level prices (slippage capped at the limit);
 *   the rest rests.
 *   Resting (`phase: "resting"`, every later book): when the opposite side crosses the limit (a buy's
 *   limit ≥ best ask), the order fills as a maker AT ITS LIMIT PRICE, up to the depth that crosses.
 *   Each snapshot is treated as fresh liquidity (no queue position is modelled).
 * - `stop` (stop-market): triggers when the book trades through the trigger — a buy stop when the best
 *   ask ≥ stopPrice, a sell stop when the best bid ≤ stopPrice — then fills as a market order in the
 *   same call. `stop_limit`: triggers the same way, then behaves as a limit at `price` on arrival.
 *
 * ── Candle model (only bars exist: backtests, paper venue fed by candles) ──────────────────────────
 * The bar passed is the first bar the order lives through (the caller passes the bar AFTER the one the
 * decision was made on, so no look-ahead).
 * - `market`: fills the whole amount at the bar's OPEN moved against the order by `slippageBps`
 *   (buy: open × (1 + s), sell: open × (1 − s)); taker.
 * - `limit` buy (sell mirrored): if the bar opens at or below the limit, fills at the open as a taker
 *   (it was marketable); else if the bar's low reaches the limit (`low ≤ price`, or `low < price` when
 *   `limitRequiresTradeThrough`), fills at the limit price as a maker; else no fill.
 * - `stop` buy (sell mirrored): triggers when the bar's high reaches the stop (`high ≥ stopPrice`);
 *   fills at max(open, stopPrice) — a gap through the stop fills at the open — plus slippage; taker.
 * - `stop_limit` buy: triggers as the stop does, at trigger price t = max(open, stopPrice). On the
 *   trigger bar it fills only if marketable at t (limit ≥ t), at min(t × (1 + s), limit) as a taker;
 *   otherwise it becomes a resting limit (triggered = true) evaluated from the next bar on, because
 *   the bar cannot tell whether its low came after the trigger.
 * - `maxVolumeFraction` (optional) caps one bar's fill at that fraction of the bar's volume; the rest
 *   stays working (partial fill).
 *
 * Fees: `feeOf` from fees.ts — quote currency, maker or taker rate on the fill's notional.
 */
export interface FillModelOptions {
  readonly fees: FeeSchedule;
  /** Adverse price move on every taker fill, in basis points (1 bp = 0.01 %). */
  readonly slippageBps: number;
  /** Candle model: at most this fraction of a bar's volume fills in that bar (undefined: no cap). */
  readonly maxVolumeFraction?: number;
  /** Candle model: a limit fills only if the bar trades THROUGH it (`low < price`), not at a touch. */
  readonly limitRequiresTradeThrough?: boolean;
  /** Book model: "arrival" for the first evaluation of a new order, "resting" afterwards. */
  readonly phase?: "arrival" | "resting";
}

export const DEFAULT_FILL_OPTIONS: FillModelOptions = {
  fees: DEFAULT_FEES,
  slippageBps: 0,
  phase: "arrival",
};

/** The part of an order the model needs. `amount` is what is still to fill. */
export interface WorkingOrder {
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly amount: number;
  /** Limit price (limit, stop_limit). */
  readonly price?: number;
  /** Trigger price (stop, stop_limit). */
  readonly stopPrice?: number;
  /** A stop whose trigger already fired (stop_limit then rests as a limit). */
  readonly triggered?: boolean;
}

export interface SimulatedFill {
  readonly price: number;
  readonly amount: number;
  readonly fee: Fee;
  readonly liquidity: Liquidity;
}

export interface FillOutcome {
  readonly fills: readonly SimulatedFill[];
  /** Sum of the fills' amounts. */
  readonly filled: number;
  /** What is left to fill after this step (≥ 0). */
  readonly remaining: number;
  /** Volume-weighted price of this step's fills, undefined without fills. */
  readonly averagePrice?: number;
  /** The stop's trigger state after this step (true for non-stop orders that are live). */
  readonly triggered: boolean;
  /** A market (or triggered stop-market) order met the end of the book: the rest cannot fill here. */
  readonly exhausted: boolean;
}

/** Relative tolerance under which a remainder counts as zero (float dust from level arithmetic). */
const DUST = 1e-12;

const isStop = (type: OrderType) => type === "stop" || type === "stop_limit";

const slipped = (side: Side, price: number, bps: number) =>
  side === "buy" ? price * (1 + bps / 10_000) : price * (1 - bps / 10_000);

function limitOf(order: WorkingOrder): number {
  if (order.price === undefined) throw new Error(`a ${order.type} order needs a price`);
  return order.price;
}

function stopOf(order: WorkingOrder): number {
  if (order.stopPrice === undefined) throw new Error(`a ${order.type} order needs a stopPrice`);
  return order.stopPrice;
}

function outcome(
  order: WorkingOrder,
  fills: SimulatedFill[],
  triggered: boolean,
  exhausted: boolean,
): FillOutcome {
  let filled = 0;
  let notional = 0;
  for (const f of fills) {
    filled += f.amount;
    notional += f.amount * f.price;
  }
  let remaining = order.amount - filled;
  if (remaining <= order.amount * DUST) remaining = 0;
  return {
    fills,
    filled,
    remaining,
    ...(filled > 0 ? { averagePrice: notional / filled } : {}),
    triggered,
    exhausted: exhausted && remaining > 0,
  };
}

const none = (order: WorkingOrder, triggered: boolean): FillOutcome => ({
  fills: [],
  filled: 0,
  remaining: order.amount,
  triggered,
  exhausted: false,
});

// ── Book model ──────────────────────────────────────────────────────────────────────────────────

/** True when the book trades through a stop: buy stop when best ask ≥ stop, sell stop when best bid ≤ stop. */
export function stopTriggeredByBook(order: WorkingOrder, book: Pick<OrderBook, "bids" | "asks">): boolean {
  if (order.triggered === true) return true;
  const stop = stopOf(order);
  if (order.side === "buy") {
    const ask = book.asks[0];
    return ask !== undefined && ask[0] >= stop;
  }
  const bid = book.bids[0];
  return bid !== undefined && bid[0] <= stop;
}

/** Takes liquidity from the opposite side up to `limit` (undefined: any price). */
function take(
  order: WorkingOrder,
  book: Pick<OrderBook, "bids" | "asks">,
  limit: number | undefined,
  options: FillModelOptions,
): { fills: SimulatedFill[]; exhausted: boolean } {
  const levels = order.side === "buy" ? book.asks : book.bids;
  const fills: SimulatedFill[] = [];
  let left = order.amount;
  for (const [levelPrice, levelAmount] of levels) {
    if (left <= order.amount * DUST) break;
    if (limit !== undefined && (order.side === "buy" ? levelPrice > limit : levelPrice < limit)) {
      return { fills, exhausted: false };
    }
    let price = slipped(order.side, levelPrice, options.slippageBps);
    if (limit !== undefined) price = order.side === "buy" ? Math.min(price, limit) : Math.max(price, limit);
    const amount = Math.min(left, levelAmount);
    fills.push({
      price,
      amount,
      fee: feeOf(order.symbol, price, amount, "taker", options.fees),
      liquidity: "taker",
    });
    left -= amount;
  }
  return { fills, exhausted: left > order.amount * DUST };
}

/** A resting limit hit by a crossing book: fills at its own price, as a maker, up to the crossing depth. */
function rest(
  order: WorkingOrder,
  book: Pick<OrderBook, "bids" | "asks">,
  options: FillModelOptions,
): SimulatedFill[] {
  const limit = limitOf(order);
  const levels = order.side === "buy" ? book.asks : book.bids;
  let crossing = 0;
  for (const [levelPrice, levelAmount] of levels) {
    if (order.side === "buy" ? levelPrice > limit : levelPrice < limit) break;
    crossing += levelAmount;
  }
  const amount = Math.min(order.amount, crossing);
  if (amount <= 0) return [];
  return [
    {
      price: limit,
      amount,
      fee: feeOf(order.symbol, limit, amount, "maker", options.fees),
      liquidity: "maker",
    },
  ];
}

/** The fills of `order` against one order book snapshot (bids descending, asks ascending). */
export function fillAgainstBook(
  order: WorkingOrder,
  book: Pick<OrderBook, "bids" | "asks">,
  options: FillModelOptions = DEFAULT_FILL_OPTIONS,
): FillOutcome {
  if (order.amount <= 0) return none(order, true);
  const phase = options.phase ?? "arrival";
  let triggered = true;
  let limitPhase = phase;
  if (isStop(order.type)) {
    if (!stopTriggeredByBook(order, book)) return none(order, false);
    // A stop_limit whose trigger fires in this very snapshot meets the book as a new limit order.
    if (order.triggered !== true) limitPhase = "arrival";
    triggered = true;
  }
  if (order.type === "market" || order.type === "stop") {
    const { fills, exhausted } = take(order, book, undefined, options);
    return outcome(order, fills, triggered, exhausted);
  }
  if (limitPhase === "arrival") {
    const { fills } = take(order, book, limitOf(order), options);
    return outcome(order, fills, triggered, false);
  }
  return outcome(order, rest(order, book, options), triggered, false);
}

// ── Candle model ────────────────────────────────────────────────────────────────────────────────

/** True when a bar reaches a stop: buy stop when high ≥ stop, sell stop when low ≤ stop. */
export function stopTriggeredByCandle(order: WorkingOrder, candle: Pick<Candle, "high" | "low">): boolean {
  if (order.triggered === true) return true;
  const stop = stopOf(order);
  return order.side === "buy" ? candle.high >= stop : candle.low <= stop;
}

function capByVolume(order: WorkingOrder, candle: Pick<Candle, "volume">, options: FillModelOptions): number {
  if (options.maxVolumeFraction === undefined) return order.amount;
  return Math.min(order.amount, candle.volume * options.maxVolumeFraction);
}

function single(
  order: WorkingOrder,
  price: number,
  amount: number,
  liquidity: Liquidity,
  options: FillModelOptions,
): SimulatedFill[] {
  if (amount <= 0) return [];
  return [{ price, amount, fee: feeOf(order.symbol, price, amount, liquidity, options.fees), liquidity }];
}

/** A limit (or a triggered stop_limit resting as one) against one bar. */
function limitAgainstCandle(
  order: WorkingOrder,
  candle: Pick<Candle, "open" | "high" | "low" | "volume">,
  amount: number,
  options: FillModelOptions,
): SimulatedFill[] {
  const limit = limitOf(order);
  const buy = order.side === "buy";
  if (buy ? candle.open <= limit : candle.open >= limit) {
    return single(order, candle.open, amount, "taker", options);
  }
  const through = options.limitRequiresTradeThrough === true;
  const reached = buy
    ? through
      ? candle.low < limit
      : candle.low <= limit
    : through
      ? candle.high > limit
      : candle.high >= limit;
  return reached ? single(order, limit, amount, "maker", options) : [];
}

/** The fills of `order` over one bar; see the header for the rules. */
export function fillAgainstCandle(
  order: WorkingOrder,
  candle: Pick<Candle, "open" | "high" | "low" | "close" | "volume">,
  options: FillModelOptions = DEFAULT_FILL_OPTIONS,
): FillOutcome {
  if (order.amount <= 0) return none(order, true);
  const amount = capByVolume(order, candle, options);
  const buy = order.side === "buy";
  switch (order.type) {
    case "market": {
      const price = slipped(order.side, candle.open, options.slippageBps);
      return outcome(order, single(order, price, amount, "taker", options), true, false);
    }
    case "limit":
      return outcome(order, limitAgainstCandle(order, candle, amount, options), true, false);
    case "stop": {
      if (!stopTriggeredByCandle(order, candle)) return none(order, false);
      const stop = stopOf(order);
      const trigger =
        order.triggered === true
          ? candle.open
          : buy
            ? Math.max(candle.open, stop)
            : Math.min(candle.open, stop);
      const price = slipped(order.side, trigger, options.slippageBps);
      return outcome(order, single(order, price, amount, "taker", options), true, false);
    }
    case "stop_limit": {
      if (order.triggered === true) {
        return outcome(order, limitAgainstCandle(order, candle, amount, options), true, false);
      }
      if (!stopTriggeredByCandle(order, candle)) return none(order, false);
      const stop = stopOf(order);
      const limit = limitOf(order);
      const trigger = buy ? Math.max(candle.open, stop) : Math.min(candle.open, stop);
      const marketable = buy ? limit >= trigger : limit <= trigger;
      if (!marketable) return none(order, true);
      const s = slipped(order.side, trigger, options.slippageBps);
      const price = buy ? Math.min(s, limit) : Math.max(s, limit);
      return outcome(order, single(order, price, amount, "taker", options), true, false);
    }
  }
}

/** The working order after an outcome: what is left, and the stop's trigger state. */
export function applyOutcome(order: WorkingOrder, result: FillOutcome): WorkingOrder {
  return { ...order, amount: result.remaining, triggered: result.triggered };
}
