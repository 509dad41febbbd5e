import { z } from "zod";
import type { Config } from "../config.ts";

/**
 * The pre-trade compliance rules, pure: restricted symbols, maximum order notional, price band. One
 * code for both places that judge an order before it trades:
 *   - the exchange's submit path (hotpath/exchange/oms.ts), which refuses a breaking order before it
 *     reaches a venue, next to the in-process risk check;
 *   - the ComplianceAuditor's surveillance (functions/compliance/rules.ts), which decides every new
 *     order event after the fact with the same rules plus the pattern rules (position, wash trades,
 *     order-to-trade and cancel ratios).
 * No I/O, no clock: the caller gives the reference price (the last trade or market price it knows).
 */
export const ComplianceRule = z.enum([
  "restricted_symbol",
  "max_order_notional",
  "position_limit",
  "wash_trade",
  "order_to_trade_ratio",
  "cancel_ratio",
  "price_band",
]);
export type ComplianceRule = z.infer<typeof ComplianceRule>;

export const ComplianceSeverity = z.enum(["low", "medium", "high"]);

export const ComplianceViolation = z.object({
  rule: ComplianceRule,
  severity: ComplianceSeverity,
  message: z.string(),
  account: z.string(),
  symbol: z.string(),
  orderId: z.string().optional(),
  fillId: z.string().optional(),
  details: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
});
export type ComplianceViolation = z.infer<typeof ComplianceViolation>;

export interface PreTradeLimits {
  /** Upper-case unified symbols. */
  restricted: ReadonlySet<string>;
  /** Quote currency. */
  maxOrderNotional: number;
  /** Largest relative distance of a limit price from the reference price. */
  priceBand: number;
}

export function preTradeLimitsOf(config: Config): PreTradeLimits {
  return {
    restricted: new Set(config.COMPLIANCE_RESTRICTED_SYMBOLS),
    maxOrderNotional: config.COMPLIANCE_MAX_ORDER_NOTIONAL,
    priceBand: config.COMPLIANCE_PRICE_BAND,
  };
}

/** A proposed or new order, as the pre-trade rules see it. */
export interface OrderTicket {
  account: string;
  symbol: string;
  side: "buy" | "sell";
  type: string;
  amount: number;
  price?: number | undefined;
  stopPrice?: number | undefined;
  id?: string;
}

/** The rules this module decides, in the order they are checked. */
export const PRE_TRADE_RULES = ["restricted_symbol", "max_order_notional", "price_band"] as const;

const round = (x: number) => Math.round(x * 1e8) / 1e8;

/**
 * Judges one order against the limits. `reference` is the last trade (or market) price; without it
 * the notional of a market order and the price band cannot be judged and are passed.
 */
export function preTradeCompliance(
  o: OrderTicket,
  reference: number | undefined,
  limits: PreTradeLimits,
): { checked: ComplianceRule[]; violations: ComplianceViolation[] } {
  const violations: ComplianceViolation[] = [];
  const base = { account: o.account, symbol: o.symbol, ...(o.id !== undefined ? { orderId: o.id } : {}) };
  if (limits.restricted.has(o.symbol.toUpperCase())) {
    violations.push({
      ...base,
      rule: "restricted_symbol",
      severity: "high",
      message: `${o.symbol} is a restricted symbol`,
      details: {},
    });
  }
  const price = o.price ?? o.stopPrice ?? reference;
  if (price !== undefined) {
    const notional = o.amount * price;
    if (notional > limits.maxOrderNotional) {
      violations.push({
        ...base,
        rule: "max_order_notional",
        severity: "high",
        message: `order notional ${round(notional)} exceeds the maximum ${limits.maxOrderNotional}`,
        details: { notional: round(notional), max: limits.maxOrderNotional, price },
      });
    }
  }
  if (o.price !== undefined && o.type !== "market" && reference !== undefined && reference > 0) {
    const distance = Math.abs(o.price - reference) / reference;
    if (distance > limits.priceBand) {
      violations.push({
        ...base,
        rule: "price_band",
        severity: "medium",
        message: `limit price ${o.price} is ${round(distance * 100)}% from the last trade ${reference} (band ${round(limits.priceBand * 100)}%)`,
        details: { price: o.price, lastPrice: reference, distance: round(distance), band: limits.priceBand },
      });
    }
  }
  return { checked: [...PRE_TRADE_RULES], violations };
}

/** The refusal an order gets before it is sent: undefined when it passes. */
export function preTradeRefusal(
  o: OrderTicket,
  reference: number | undefined,
  limits: PreTradeLimits,
): { message: string; violations: ComplianceViolation[] } | undefined {
  const { violations } = preTradeCompliance(o, reference, limits);
  if (violations.length === 0) return undefined;
  return {
    message: `compliance check failed: ${violations.map((v) => `${v.rule}: ${v.message}`).join("; ")}`,
    violations,
  };
}
