import { z } from "zod";
import { UnifiedSymbol } from "./market.ts";

/**
 * The trading vocabulary every agent shares: orders, fills and positions as they travel on the bus.
 * Timestamps are integer UTC milliseconds; symbols are unified ccxt symbols (`BTC/USDT`); amounts are
 * in base currency, prices in quote currency.
 */
export const Side = z.enum(["buy", "sell"]);
export type Side = z.infer<typeof Side>;

export const OrderType = z.enum(["market", "limit", "stop", "stop_limit"]);
export type OrderType = z.infer<typeof OrderType>;

/** The states of an order's life, in order; each has its event subject (`events.trade.order.<state>`). */
export const OrderState = [
  "submitted",
  "accepted",
  "rejected",
  "partially_filled",
  "filled",
  "canceled",
  "expired",
] as const;
export type OrderState = (typeof OrderState)[number];

export const OrderStatus = z.enum(OrderState);
export type OrderStatus = z.infer<typeof OrderStatus>;

const TimestampMs = z.number().int().nonnegative();

/** A subject/key-safe token: what a strategy id and an account name are. */
export const TOKEN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A strategy instance's id: one subject/key-safe token. */
export const StrategyId = z.string().regex(TOKEN_ID, "1-64 letters, digits, '_' or '-'");

/**
 * An account name: it becomes a subject token and a KV key part (positions, risk snapshots), so it is
 * one token of letters, digits, '_' or '-'.
 */
export const AccountId = z
  .string()
  .regex(TOKEN_ID, "1-64 letters, digits, '_' or '-' (an account is a subject and key token)");

export const Fee = z.object({ currency: z.string().min(1), cost: z.number().nonnegative() });
export type Fee = z.infer<typeof Fee>;

/** What every order names: the fields a request and the order's later states share. */
const OrderTerms = z.object({
  clientOrderId: z.string().min(1),
  account: z.string().min(1),
  venue: z.string().min(1),
  symbol: UnifiedSymbol,
  side: Side,
  type: OrderType,
  amount: z.number().positive(),
  /** Limit price (limit and stop_limit). */
  price: z.number().positive().optional(),
  /** Trigger price (stop and stop_limit). */
  stopPrice: z.number().positive().optional(),
  /** The strategy instance that decided the order (absent for manual orders); its fills carry it too. */
  strategyId: StrategyId.optional(),
});

/** An order request as a strategy, a person or the router asks for it. */
export const OrderRequest = OrderTerms.extend({
  clientOrderId: z.string().min(1).max(36),
  account: AccountId.default("default"),
}).superRefine((o, ctx) => {
  if ((o.type === "limit" || o.type === "stop_limit") && o.price === undefined) {
    ctx.addIssue({ code: "custom", path: ["price"], message: `a ${o.type} order needs a price` });
  }
  if ((o.type === "stop" || o.type === "stop_limit") && o.stopPrice === undefined) {
    ctx.addIssue({ code: "custom", path: ["stopPrice"], message: `a ${o.type} order needs a stopPrice` });
  }
});
export type OrderRequest = z.infer<typeof OrderRequest>;

/** An order's state; published as `order.<status>` on `events.trade.order.<status>` at every change. */
export const Order = OrderTerms.extend({
  id: z.string().min(1),
  status: OrderStatus,
  filled: z.number().nonnegative(),
  remaining: z.number().nonnegative(),
  averagePrice: z.number().positive().optional(),
  fee: Fee.optional(),
  /** Why the order was rejected or canceled, in words. */
  reason: z.string().optional(),
  createdAt: TimestampMs,
  updatedAt: TimestampMs,
});
export type Order = z.infer<typeof Order>;

/** One execution against an order; published as `fill.executed` on `events.trade.fill`. */
export const Fill = z.object({
  id: z.string().min(1),
  orderId: z.string().min(1),
  clientOrderId: z.string().min(1),
  account: z.string().min(1),
  venue: z.string().min(1),
  symbol: UnifiedSymbol,
  side: Side,
  amount: z.number().positive(),
  price: z.number().positive(),
  fee: Fee,
  liquidity: z.enum(["maker", "taker"]),
  timestamp: TimestampMs,
  /** The order's strategy, when a strategy placed it. */
  strategyId: StrategyId.optional(),
});
export type Fill = z.infer<typeof Fill>;

/** A net position; published as `position.changed` on `events.trade.position`. Amount is signed. */
export const Position = z.object({
  account: z.string().min(1),
  venue: z.string().min(1),
  symbol: UnifiedSymbol,
  amount: z.number(),
  averagePrice: z.number().nonnegative(),
  /** Realised PnL after fees, quote currency (core/portfolio/accounting.ts). */
  realizedPnl: z.number(),
  /** Fees paid on the position's fills, quote currency. */
  fees: z.number().nonnegative().optional(),
  /** Unrealised PnL at the latest mark, when one is known (queries only, not events). */
  unrealizedPnl: z.number().optional(),
  timestamp: TimestampMs,
});
export type Position = z.infer<typeof Position>;

/** Event types of the trade domain (`type` of the envelope). */
export const tradeEventType = {
  order: (status: OrderStatus) => `order.${status}`,
  fill: "fill.executed",
  position: "position.changed",
  limits: "limits.changed",
  killSwitch: "kill_switch.changed",
  /** A strategy instance was created, started, stopped, paused, resumed or updated (recorded on AUDIT). */
  strategy: "strategy.changed",
} as const;
