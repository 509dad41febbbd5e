import { z } from "zod";
import { roundToTick } from "../market/tick.ts";
import { UnifiedSymbol } from "./market.ts";
import {
  Fee,
  type Fill,
  type Order,
  OrderStatus,
  OrderType,
  type Position,
  Side,
  StrategyId,
} from "./trading.ts";

/**
 * Orders, fills and positions as tools answer them: snake_case (the wire convention of every tool).
 * An order's limit and stop prices are put on the venue's tick and its amount on its step when the
 * venue states them; executions (fills, an order's filled amount, average price and fee) are answered
 * exactly as the venue recorded them and EVENTS holds them, so a reader of the answer and a reader of
 * the bus account the same numbers (the strategy agent keeps its books from the answer). Positions,
 * a derived view, are shown on the step and cleaned of binary noise (12 significant digits). The domain
 * shapes of trading.ts stay camelCase inside the process and on the bus; this module is the one place
 * they cross to a tool's answer and back (the strategy agent reads the exchange's answers with it).
 * Each mapping names its fields: no generic key conversion runs on the order path.
 */

/** A venue's precision for one market: price tick and amount step, when it states them. */
export interface Precision {
  readonly tickSize?: number | undefined;
  readonly stepSize?: number | undefined;
}

/** A number without binary noise: 12 significant digits, which every price, amount and PnL fits. */
export const clean = (x: number): number => (Number.isFinite(x) ? Number(x.toPrecision(12)) : x);
const onTick = (x: number, tick: number | undefined) =>
  tick === undefined ? clean(x) : roundToTick(x, tick);
const opt = <K extends string>(key: K, v: number | undefined, f: (x: number) => number) =>
  (v === undefined ? {} : { [key]: f(v) }) as Partial<Record<K, number>>;
const optStr = <K extends string>(key: K, v: string | undefined) =>
  (v === undefined ? {} : { [key]: v }) as Partial<Record<K, string>>;

const TimestampMs = z.number().int().nonnegative();
const WireFee = Fee;

export const OrderWire = z.object({
  id: z.string().min(1),
  client_order_id: z.string().min(1),
  account: z.string().min(1),
  venue: z.string().min(1),
  symbol: UnifiedSymbol,
  side: Side,
  type: OrderType,
  amount: z.number().positive(),
  price: z.number().positive().optional(),
  stop_price: z.number().positive().optional(),
  strategy_id: StrategyId.optional(),
  status: OrderStatus,
  filled: z.number().nonnegative(),
  remaining: z.number().nonnegative(),
  average_price: z.number().positive().optional(),
  fee: WireFee.optional(),
  reason: z.string().optional(),
  created_at: TimestampMs,
  updated_at: TimestampMs,
});
export type OrderWire = z.infer<typeof OrderWire>;

export const FillWire = z.object({
  id: z.string().min(1),
  order_id: z.string().min(1),
  client_order_id: z.string().min(1),
  account: z.string().min(1),
  venue: z.string().min(1),
  symbol: UnifiedSymbol,
  side: Side,
  amount: z.number().positive(),
  price: z.number().positive(),
  fee: WireFee,
  liquidity: z.enum(["maker", "taker"]),
  timestamp: TimestampMs,
  strategy_id: StrategyId.optional(),
});
export type FillWire = z.infer<typeof FillWire>;

export const PositionWire = z.object({
  account: z.string().min(1),
  venue: z.string().min(1),
  symbol: UnifiedSymbol,
  amount: z.number(),
  average_price: z.number().nonnegative(),
  realized_pnl: z.number(),
  fees: z.number().nonnegative().optional(),
  unrealized_pnl: z.number().optional(),
  timestamp: TimestampMs,
});
export type PositionWire = z.infer<typeof PositionWire>;

// The two order mappings set their optional keys one by one, in the order the keys appear (no
// object per optional key spread in): the answer is the same object, key order included.

export function orderToWire(o: Order, p: Precision = {}): OrderWire {
  const w: Record<string, unknown> = {
    id: o.id,
    client_order_id: o.clientOrderId,
    account: o.account,
    venue: o.venue,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    amount: onTick(o.amount, p.stepSize),
  };
  if (o.price !== undefined) w.price = onTick(o.price, p.tickSize);
  if (o.stopPrice !== undefined) w.stop_price = onTick(o.stopPrice, p.tickSize);
  if (o.strategyId !== undefined) w.strategy_id = o.strategyId;
  w.status = o.status;
  w.filled = o.filled;
  w.remaining = o.remaining;
  if (o.averagePrice !== undefined) w.average_price = o.averagePrice;
  if (o.fee !== undefined) w.fee = o.fee;
  if (o.reason !== undefined) w.reason = o.reason;
  w.created_at = o.createdAt;
  w.updated_at = o.updatedAt;
  return w as OrderWire;
}

export function orderFromWire(w: OrderWire): Order {
  const o: Record<string, unknown> = {
    id: w.id,
    clientOrderId: w.client_order_id,
    account: w.account,
    venue: w.venue,
    symbol: w.symbol,
    side: w.side,
    type: w.type,
    amount: w.amount,
  };
  if (w.price !== undefined) o.price = w.price;
  if (w.stop_price !== undefined) o.stopPrice = w.stop_price;
  if (w.strategy_id !== undefined) o.strategyId = w.strategy_id;
  o.status = w.status;
  o.filled = w.filled;
  o.remaining = w.remaining;
  if (w.average_price !== undefined) o.averagePrice = w.average_price;
  if (w.fee !== undefined) o.fee = w.fee;
  if (w.reason !== undefined) o.reason = w.reason;
  o.createdAt = w.created_at;
  o.updatedAt = w.updated_at;
  return o as Order;
}

export function fillToWire(f: Fill): FillWire {
  return {
    id: f.id,
    order_id: f.orderId,
    client_order_id: f.clientOrderId,
    account: f.account,
    venue: f.venue,
    symbol: f.symbol,
    side: f.side,
    // An execution is answered exactly as the venue recorded it (and as EVENTS holds it), so a reader
    // of the answer and a reader of the bus account the same numbers; the paper venue's slippage lands
    // off the tick.
    amount: f.amount,
    price: f.price,
    fee: f.fee,
    liquidity: f.liquidity,
    timestamp: f.timestamp,
    ...optStr("strategy_id", f.strategyId),
  };
}

export function fillFromWire(w: FillWire): Fill {
  return {
    id: w.id,
    orderId: w.order_id,
    clientOrderId: w.client_order_id,
    account: w.account,
    venue: w.venue,
    symbol: w.symbol,
    side: w.side,
    amount: w.amount,
    price: w.price,
    fee: w.fee,
    liquidity: w.liquidity,
    timestamp: w.timestamp,
    ...optStr("strategyId", w.strategy_id),
  };
}

export function positionToWire(q: Position, p: Precision = {}): PositionWire {
  return {
    account: q.account,
    venue: q.venue,
    symbol: q.symbol,
    amount: onTick(q.amount, p.stepSize),
    average_price: clean(q.averagePrice),
    realized_pnl: clean(q.realizedPnl),
    ...opt("fees", q.fees, clean),
    ...opt("unrealized_pnl", q.unrealizedPnl, clean),
    timestamp: q.timestamp,
  };
}

/** An order with its fills, as submit_order and get_order answer it. */
export const OrderWithFillsWire = z.object({ order: OrderWire, fills: z.array(FillWire) });
export type OrderWithFillsWire = z.infer<typeof OrderWithFillsWire>;

export function withFillsToWire(
  r: { order: Order; fills: readonly Fill[] },
  p: Precision = {},
): OrderWithFillsWire {
  return { order: orderToWire(r.order, p), fills: r.fills.map(fillToWire) };
}

export function withFillsFromWire(w: OrderWithFillsWire): { order: Order; fills: Fill[] } {
  return { order: orderFromWire(w.order), fills: w.fills.map(fillFromWire) };
}
