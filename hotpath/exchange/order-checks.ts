import type { Order, OrderRequest } from "../../core/domain/trading.ts";
import type { VenueMarket } from "../../core/ports/venue.ts";

/**
 * Pure checks of an order before anything is recorded or sent:
 * - `marketIssues`: what the venue would reject it for (symbol, step, tick, minimums);
 * - `termsConflict`: a reused client order id with other terms than the order it first named.
 */
export interface Issue {
  path: string;
  message: string;
}

const isMultiple = (value: number, step: number) => {
  const units = value / step;
  return Math.abs(units - Math.round(units)) <= 1e-8 * Math.max(1, Math.abs(units));
};

/** The market checks a venue would reject an order for; empty when the order fits. */
export function marketIssues(
  request: OrderRequest,
  market: VenueMarket | undefined,
  reference: number | undefined,
): Issue[] {
  if (market === undefined) {
    return [{ path: "symbol", message: `unknown symbol ${request.symbol} on venue ${request.venue}` }];
  }
  const issues: Issue[] = [];
  if (market.stepSize !== undefined && !isMultiple(request.amount, market.stepSize)) {
    issues.push({
      path: "amount",
      message: `amount ${request.amount} is not a multiple of the step size ${market.stepSize}`,
    });
  }
  if (market.minAmount !== undefined && request.amount < market.minAmount) {
    issues.push({
      path: "amount",
      message: `amount ${request.amount} is below the minimum ${market.minAmount}`,
    });
  }
  for (const field of ["price", "stopPrice"] as const) {
    const value = request[field];
    if (value !== undefined && market.tickSize !== undefined && !isMultiple(value, market.tickSize)) {
      issues.push({
        path: field,
        message: `${field} ${value} is not a multiple of the tick size ${market.tickSize}`,
      });
    }
  }
  const price = request.price ?? request.stopPrice ?? reference;
  if (
    market.minNotional !== undefined &&
    price !== undefined &&
    request.amount * price < market.minNotional
  ) {
    issues.push({
      path: "amount",
      message: `notional ${(request.amount * price).toFixed(8)} is below the minimum ${market.minNotional}`,
    });
  }
  return issues;
}

/** The terms a client order id binds, with the snake_case name the tools use for each. */
const TERMS = [
  ["account", "account"],
  ["symbol", "symbol"],
  ["side", "side"],
  ["type", "type"],
  ["amount", "amount"],
  ["price", "price"],
  ["stopPrice", "stop_price"],
  ["strategyId", "strategy_id"],
] as const;

/** The first term in which `request` differs from the order its client order id already names. */
export function termsConflict(first: Pick<Order, (typeof TERMS)[number][0]>, request: OrderRequest): Issue[] {
  const issues: Issue[] = [];
  for (const [field, name] of TERMS) {
    const a = first[field];
    const b = request[field];
    if (a !== b) {
      issues.push({
        path: name,
        message: `client_order_id ${request.clientOrderId} was already used with ${name} ${a ?? "(none)"}; this request has ${b ?? "(none)"}`,
      });
    }
  }
  return issues;
}
