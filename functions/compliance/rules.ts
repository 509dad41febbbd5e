import { z } from "zod";
import {
  ComplianceRule,
  ComplianceSeverity,
  ComplianceViolation,
  type OrderTicket,
  type PreTradeLimits,
  preTradeCompliance,
  preTradeLimitsOf,
} from "../../core/compliance/pretrade.ts";
import type { Config } from "../../core/config.ts";
import { type Fill, type Order, type Position, Side } from "../../core/domain/trading.ts";

/**
 * The ComplianceAuditor's rules, as pure functions of (state, event, thresholds): no I/O, no clock
 * (windows run on the events' own timestamps), so a replay or a redelivery decides the same way.
 * The pre-trade rules (restricted symbol, notional, price band) are core's (core/compliance/pretrade.ts),
 * the very code the exchange refuses orders with before they reach a venue.
 *
 * Time: rules compare the events' own timestamps (two fills are a wash when their timestamps are
 * within the window, whatever order they arrive in). What is remembered is pruned by ARRIVAL time
 * (the envelope's `time`, stamped by the producer when it published): an entry is kept while it
 * arrived within window + {@link LATENESS_FACTOR} × window of the latest arrival. So one event
 * stamped in the future (a bad clock) neither moves the pruning clock nor blinds later detections,
 * and events arriving out of order by up to that lateness are still matched.
 */

export const Rule = ComplianceRule;
export type Rule = ComplianceRule;
export const Severity = ComplianceSeverity;
export const Violation = ComplianceViolation;
export type Violation = ComplianceViolation;

export { Decision } from "../../core/events/data/compliance.ts";

const RecentFill = z.object({
  id: z.string(),
  /** Arrival time (envelope time); absent in states saved before it was recorded. */
  arrivedAt: z.number().optional(),
  orderId: z.string(),
  account: z.string(),
  symbol: z.string(),
  side: Side,
  amount: z.number(),
  price: z.number(),
  timestamp: z.number(),
  /** The strategy instance whose order filled (absent for manual orders). */
  strategyId: z.string().optional(),
});

const TrackedOrder = z.object({
  /** Arrival time of its first event (envelope time); absent in older states. */
  arrivedAt: z.number().optional(),
  account: z.string(),
  symbol: z.string(),
  createdAt: z.number(),
  filled: z.boolean(),
  canceled: z.boolean(),
});

/** What compliance remembers between batches; bounded by the wash and ratio windows. */
export const ComplianceState = z.object({
  /** The latest ARRIVAL time seen (envelope time): what remembered fills and orders are pruned by. */
  clock: z.number(),
  /** Signed base amount per `account|symbol`. */
  positions: z.record(z.string(), z.number()),
  /** Last trade price per symbol. */
  lastPrices: z.record(z.string(), z.number()),
  /** Fills inside the wash window. */
  fills: z.array(RecentFill),
  /** Orders inside the ratio window, by `venue|clientOrderId` (the one id an order has in every event). */
  orders: z.record(z.string(), TrackedOrder),
  /** When a ratio violation was last raised per `rule|account|symbol` (one per window). */
  flaggedAt: z.record(z.string(), z.number()),
});
export type ComplianceState = z.infer<typeof ComplianceState>;

export const initialState = (): ComplianceState => ({
  clock: 0,
  positions: {},
  lastPrices: {},
  fills: [],
  orders: {},
  flaggedAt: {},
});

export interface Thresholds extends PreTradeLimits {
  /** MAX_POSITION_SIZE: largest position notional as a fraction of equity. */
  maxPositionFraction: number;
  equity: number;
  washWindowMs: number;
  ratioWindowMs: number;
  ratioMinOrders: number;
  maxOrderToTrade: number;
  maxCancelRatio: number;
}

export function thresholdsOf(config: Config): Thresholds {
  return {
    ...preTradeLimitsOf(config),
    maxPositionFraction: config.MAX_POSITION_SIZE,
    equity: config.COMPLIANCE_ACCOUNT_EQUITY,
    washWindowMs: config.COMPLIANCE_WASH_WINDOW_MS,
    ratioWindowMs: config.COMPLIANCE_RATIO_WINDOW_MS,
    ratioMinOrders: config.COMPLIANCE_RATIO_MIN_ORDERS,
    maxOrderToTrade: config.COMPLIANCE_MAX_ORDER_TO_TRADE,
    maxCancelRatio: config.COMPLIANCE_MAX_CANCEL_RATIO,
  };
}

const key = (account: string, symbol: string) => `${account}|${symbol}`;
const signed = (side: "buy" | "sell", amount: number) => (side === "buy" ? amount : -amount);
const round = (x: number) => Math.round(x * 1e8) / 1e8;

export type { OrderTicket };

/** Keeps what was remembered while it arrived within window × (1 + LATENESS_FACTOR) of the latest arrival. */
export const LATENESS_FACTOR = 1;

/** The one key of an order in every event: the submitted event carries the client id as `id`, later ones the venue's. */
export const orderKey = (o: { venue: string; clientOrderId: string }) => `${o.venue}|${o.clientOrderId}`;

const ORDER_OF_RULES: Rule[] = ["restricted_symbol", "max_order_notional", "position_limit", "price_band"];

/** The pre-trade rules: core's (restricted symbol, notional, price band) plus the prospective position. */
export function checkOrder(
  state: ComplianceState,
  o: OrderTicket,
  t: Thresholds,
): { checked: Rule[]; violations: Violation[] } {
  const last = state.lastPrices[o.symbol];
  const violations = [...preTradeCompliance(o, last, t).violations];
  const refPrice = o.price ?? last;
  if (refPrice !== undefined) {
    const current = state.positions[key(o.account, o.symbol)] ?? 0;
    const prospective = current + signed(o.side, o.amount);
    const fraction = (Math.abs(prospective) * refPrice) / t.equity;
    if (Math.abs(prospective) > Math.abs(current) && fraction > t.maxPositionFraction) {
      violations.push({
        account: o.account,
        symbol: o.symbol,
        ...(o.id !== undefined ? { orderId: o.id } : {}),
        rule: "position_limit",
        severity: "medium",
        message: `position after this order would be ${round(fraction * 100)}% of equity (max ${round(t.maxPositionFraction * 100)}%)`,
        details: { position: round(prospective), fraction: round(fraction), max: t.maxPositionFraction },
      });
    }
  }
  violations.sort((x, y) => ORDER_OF_RULES.indexOf(x.rule) - ORDER_OF_RULES.indexOf(y.rule));
  return { checked: [...ORDER_OF_RULES], violations };
}

/**
 * Order-to-trade and cancel ratios of one account and symbol: over every tracked order, or, given
 * `window`, over the orders created in (at − windowMs, at] (event time).
 */
export function ratios(
  state: ComplianceState,
  account: string,
  symbol: string,
  window?: { at: number; windowMs: number },
) {
  let orders = 0;
  let filled = 0;
  let canceled = 0;
  for (const o of Object.values(state.orders)) {
    if (o.account !== account || o.symbol !== symbol) continue;
    if (window !== undefined && (o.createdAt > window.at || window.at - o.createdAt >= window.windowMs))
      continue;
    orders++;
    if (o.filled) filled++;
    if (o.canceled) canceled++;
  }
  return {
    orders,
    filled,
    canceled,
    orderToTrade: orders / Math.max(1, filled),
    cancelRatio: orders === 0 ? 0 : canceled / orders,
  };
}

function checkRatios(
  state: ComplianceState,
  account: string,
  symbol: string,
  t: Thresholds,
  at: number,
): Violation[] {
  const r = ratios(state, account, symbol, { at, windowMs: t.ratioWindowMs });
  if (r.orders < t.ratioMinOrders) return [];
  const out: Violation[] = [];
  const raise = (rule: Rule, message: string, value: number, max: number) => {
    const flag = `${rule}|${account}|${symbol}`;
    const last = state.flaggedAt[flag];
    // One per window either side: a flag stamped in the future does not silence the present forever.
    if (last !== undefined && Math.abs(at - last) < t.ratioWindowMs) return;
    state.flaggedAt[flag] = at;
    out.push({
      rule,
      severity: "medium",
      message,
      account,
      symbol,
      details: {
        orders: r.orders,
        filled: r.filled,
        canceled: r.canceled,
        value: round(value),
        max,
        windowMs: t.ratioWindowMs,
      },
    });
  };
  if (r.orderToTrade > t.maxOrderToTrade) {
    raise(
      "order_to_trade_ratio",
      `${r.orders} orders for ${r.filled} traded in the window (ratio ${round(r.orderToTrade)} > ${t.maxOrderToTrade})`,
      r.orderToTrade,
      t.maxOrderToTrade,
    );
  }
  if (r.cancelRatio > t.maxCancelRatio) {
    raise(
      "cancel_ratio",
      `${r.canceled} of ${r.orders} orders canceled in the window (${round(r.cancelRatio * 100)}% > ${round(t.maxCancelRatio * 100)}%)`,
      r.cancelRatio,
      t.maxCancelRatio,
    );
  }
  return out;
}

/**
 * Bounds that keep the state (one KV value, at most 1 MB) small whatever the activity: beyond them
 * the oldest fills and orders of the windows are forgotten first.
 */
export const MAX_RECENT_FILLS = 2_000;
export const MAX_TRACKED_ORDERS = 5_000;
export const MAX_FLAGS = 5_000;

/** Advances the arrival clock (never backwards) and forgets what arrived too long before it. */
function advance(state: ComplianceState, arrivedAt: number, t: Thresholds): void {
  state.clock = Math.max(state.clock, arrivedAt);
  const now = state.clock;
  const keep = 1 + LATENESS_FACTOR;
  state.fills = state.fills.filter((f) => now - (f.arrivedAt ?? f.timestamp) <= keep * t.washWindowMs);
  if (state.fills.length > MAX_RECENT_FILLS) state.fills = state.fills.slice(-MAX_RECENT_FILLS);
  for (const [id, o] of Object.entries(state.orders))
    if (now - (o.arrivedAt ?? o.createdAt) > keep * t.ratioWindowMs) delete state.orders[id];
  const tracked = Object.entries(state.orders);
  if (tracked.length > MAX_TRACKED_ORDERS) {
    tracked.sort((a, b) => a[1].createdAt - b[1].createdAt);
    for (const [id] of tracked.slice(0, tracked.length - MAX_TRACKED_ORDERS)) delete state.orders[id];
  }
  const flags = Object.entries(state.flaggedAt);
  if (flags.length > MAX_FLAGS) {
    flags.sort((a, b) => a[1] - b[1]);
    for (const [flag] of flags.slice(0, flags.length - MAX_FLAGS)) delete state.flaggedAt[flag];
  }
}

const NEW_ORDER_STATES = new Set(["submitted", "accepted"]);

/**
 * Applies an order lifecycle event; mutates `state` (the caller's working copy). `arrivedAt` is the
 * envelope's time (default: the order's own `updatedAt`). An order is one order under its client id,
 * whichever id (client or venue) its events carry.
 */
export function onOrder(
  state: ComplianceState,
  order: Order,
  t: Thresholds,
  arrivedAt: number = order.updatedAt,
): { checked: Rule[]; violations: Violation[] } {
  advance(state, arrivedAt, t);
  const id = orderKey(order);
  const tracked = state.orders[id];
  let checked: Rule[] = [];
  const violations: Violation[] = [];
  if (tracked === undefined && NEW_ORDER_STATES.has(order.status)) {
    const pre = checkOrder(state, { ...order, id: order.id }, t);
    checked = pre.checked;
    violations.push(...pre.violations);
    state.orders[id] = {
      arrivedAt,
      account: order.account,
      symbol: order.symbol,
      createdAt: order.createdAt,
      filled: false,
      canceled: false,
    };
  } else if (tracked !== undefined) {
    if (order.status === "canceled") tracked.canceled = true;
    if (order.filled > 0) tracked.filled = true;
  }
  if (state.orders[id] !== undefined) {
    checked = [...checked, "order_to_trade_ratio", "cancel_ratio"];
    violations.push(
      ...checkRatios(state, order.account, order.symbol, t, order.updatedAt).map((v) => ({
        ...v,
        orderId: order.id,
      })),
    );
  }
  return { checked, violations };
}

/**
 * Whether two fills were decided by one strategy instance. A strategy closing its own position (take
 * profit, stop loss, an exit signal) is a round trip with market risk, not a self-match; a wash trade is
 * one account on both sides through different deciders (two strategies, or a strategy and a person) or
 * through orders nobody attributed (manual orders are always checked).
 */
const sameStrategy = (a: string | undefined, b: string | undefined): boolean => a !== undefined && a === b;

/** Applies a fill: position, last price, wash trades (not within one strategy's round trip), position limit. */
export function onFill(
  state: ComplianceState,
  fill: Fill,
  t: Thresholds,
  arrivedAt: number = fill.timestamp,
): { checked: Rule[]; violations: Violation[] } {
  const checked: Rule[] = ["wash_trade", "position_limit", "restricted_symbol"];
  if (state.fills.some((f) => f.id === fill.id)) return { checked: [], violations: [] };
  advance(state, arrivedAt, t);
  const violations: Violation[] = [];
  const base = { account: fill.account, symbol: fill.symbol, orderId: fill.orderId, fillId: fill.id };
  if (t.restricted.has(fill.symbol.toUpperCase())) {
    violations.push({
      ...base,
      rule: "restricted_symbol",
      severity: "high",
      message: `fill on restricted symbol ${fill.symbol}`,
      details: {},
    });
  }
  const opposite = state.fills.find(
    (f) =>
      f.account === fill.account &&
      f.symbol === fill.symbol &&
      f.side !== fill.side &&
      f.orderId !== fill.orderId &&
      !sameStrategy(f.strategyId, fill.strategyId) &&
      Math.abs(fill.timestamp - f.timestamp) <= t.washWindowMs,
  );
  if (opposite !== undefined) {
    violations.push({
      ...base,
      rule: "wash_trade",
      severity: "high",
      message: `${fill.side} fill ${fill.id} offsets ${opposite.side} fill ${opposite.id} on ${fill.symbol} within ${Math.abs(fill.timestamp - opposite.timestamp)} ms`,
      details: {
        otherFillId: opposite.id,
        otherOrderId: opposite.orderId,
        gapMs: Math.abs(fill.timestamp - opposite.timestamp),
        windowMs: t.washWindowMs,
      },
    });
  }
  const k = key(fill.account, fill.symbol);
  const position = round((state.positions[k] ?? 0) + signed(fill.side, fill.amount));
  state.positions[k] = position;
  state.lastPrices[fill.symbol] = fill.price;
  state.fills.push({
    id: fill.id,
    arrivedAt,
    orderId: fill.orderId,
    account: fill.account,
    symbol: fill.symbol,
    side: fill.side,
    amount: fill.amount,
    price: fill.price,
    timestamp: fill.timestamp,
    ...(fill.strategyId === undefined ? {} : { strategyId: fill.strategyId }),
  });
  const tracked = state.orders[orderKey(fill)];
  if (tracked !== undefined) tracked.filled = true;
  violations.push(...positionCheck(position, fill.price, t, base));
  return { checked, violations };
}

/** Applies a position snapshot (authoritative over the sum of fills). */
export function onPosition(
  state: ComplianceState,
  p: Position,
  t: Thresholds,
  arrivedAt: number = p.timestamp,
): { checked: Rule[]; violations: Violation[] } {
  advance(state, arrivedAt, t);
  state.positions[key(p.account, p.symbol)] = p.amount;
  const price = state.lastPrices[p.symbol] ?? p.averagePrice;
  return {
    checked: ["position_limit"],
    violations: price > 0 ? positionCheck(p.amount, price, t, { account: p.account, symbol: p.symbol }) : [],
  };
}

function positionCheck(
  position: number,
  price: number,
  t: Thresholds,
  base: { account: string; symbol: string; orderId?: string; fillId?: string },
): Violation[] {
  const fraction = (Math.abs(position) * price) / t.equity;
  if (fraction <= t.maxPositionFraction) return [];
  return [
    {
      ...base,
      rule: "position_limit",
      severity: "medium",
      message: `position ${position} ${base.symbol} is ${round(fraction * 100)}% of equity (max ${round(t.maxPositionFraction * 100)}%)`,
      details: { position, price, fraction: round(fraction), max: t.maxPositionFraction, equity: t.equity },
    },
  ];
}
