import { z } from "zod";
import { Order, OrderStatus, Side } from "../../core/domain/trading.ts";
import { FillWire, OrderWire, type OrderWithFillsWire, orderToWire } from "../../core/domain/wire.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { ToolError } from "../../core/tools/errors.ts";
import type { RouteLeg, RoutePlan } from "./router.ts";

/**
 * What `route_order` answers: the plan (pure, router.ts) and, when executed, what really happened to
 * each leg — its order, its fills, the amount filled at which average price, or the error that
 * refused it. Totals come from the fills, never from the plan: a leg that failed fills nothing.
 */
const Leg = z.object({
  venue: z.string(),
  /** Planned amount of the leg. */
  amount: z.number(),
  /** Planned volume-weighted price before fees, and after the taker fee. */
  average_price: z.number(),
  all_in_price: z.number(),
  /** Planned fee (quote). */
  fee: z.number(),
  /** Worst level price the plan reaches. */
  worst_price: z.number(),
  /** The limit price the leg's order carried (the worst price on the venue's tick). */
  limit_price: z.number().optional(),
  order: OrderWire.optional(),
  fills: z.array(FillWire).optional(),
  /** What really filled (0 for a leg that failed or was not executed). */
  filled: z.number(),
  /** Volume-weighted price of the leg's fills. */
  fill_price: z.number().optional(),
  /** Fees the fills were charged (quote). */
  fee_paid: z.number(),
  status: OrderStatus.optional(),
  error: z.string().optional(),
  /** JSON-RPC code of the error (e.g. -32602 refused before sending, -32003 rejected, -32002 venue down). */
  code: z.number().int().optional(),
  /** The error's cause when it names one (compliance, risk, network, exchange…). */
  cause: z.string().optional(),
});
export type ExecutedLeg = z.input<typeof Leg>;

export const RouteOutput = z.object({
  side: Side,
  amount: z.number(),
  executed: z.boolean(),
  /** Amount the plan places across the venues' books (after step rounding and available depth). */
  planned: z.number(),
  /** Planned all-in (after fees) average price. */
  all_in_average_price: z.number().optional(),
  /** Really filled, summed over the legs' fills (0 when only planned). */
  filled: z.number(),
  /** amount − filled. */
  unfilled: z.number(),
  /** Volume-weighted price of every fill, and the fees paid. */
  average_fill_price: z.number().optional(),
  fees_paid: z.number(),
  legs: z.array(Leg),
  skipped: z.array(z.object({ venue: z.string(), reason: z.string() })),
});

const planned = (leg: RouteLeg) => ({
  venue: leg.venue,
  amount: leg.amount,
  average_price: leg.averagePrice,
  all_in_price: leg.allInPrice,
  fee: leg.fee,
  worst_price: leg.worstPrice,
});

export function executedLeg(
  leg: RouteLeg,
  limitPrice: number,
  { order, fills }: OrderWithFillsWire,
): ExecutedLeg {
  const filled = fills.reduce((s, f) => s + f.amount, 0);
  const notional = fills.reduce((s, f) => s + f.amount * f.price, 0);
  return {
    ...planned(leg),
    limit_price: limitPrice,
    order,
    fills,
    filled,
    ...(filled > 0 ? { fill_price: notional / filled } : {}),
    fee_paid: fills.reduce((s, f) => s + f.fee.cost, 0),
    status: order.status,
  };
}

export function failedLeg(leg: RouteLeg, limitPrice: number, err: unknown): ExecutedLeg {
  const data = err instanceof ToolError ? err.data : undefined;
  // The order manager's refusal carries the domain order; the leg answers it on the wire.
  const order = isRecord(data) ? Order.safeParse(data.order) : undefined;
  const cause = isRecord(data) && typeof data.cause === "string" ? data.cause : undefined;
  return {
    ...planned(leg),
    limit_price: limitPrice,
    filled: 0,
    fee_paid: 0,
    error: err instanceof Error ? err.message : String(err),
    code: err instanceof ToolError ? err.code : RpcCode.InternalError,
    ...(order?.success === true ? { order: orderToWire(order.data), status: order.data.status } : {}),
    ...(cause !== undefined ? { cause } : {}),
  };
}

export function routeResult(
  amount: number,
  plan: RoutePlan,
  legs: readonly (ExecutedLeg | RouteLeg)[],
  skipped: { venue: string; reason: string }[],
  executed: boolean,
): z.input<typeof RouteOutput> {
  const out = legs.map((l) => ("filled" in l ? l : { ...planned(l), filled: 0, fee_paid: 0 }));
  const filled = out.reduce((s, l) => s + l.filled, 0);
  const notional = out.reduce((s, l) => s + l.filled * (l.fill_price ?? 0), 0);
  return {
    side: plan.side,
    amount,
    executed,
    planned: plan.filled,
    ...(plan.allInAveragePrice !== undefined ? { all_in_average_price: plan.allInAveragePrice } : {}),
    filled,
    unfilled: Math.max(0, amount - filled),
    ...(filled > 0 ? { average_fill_price: notional / filled } : {}),
    fees_paid: out.reduce((s, l) => s + l.fee_paid, 0),
    legs: out,
    skipped,
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
