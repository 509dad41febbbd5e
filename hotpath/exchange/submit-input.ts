import { z } from "zod";
import { Amount, bounds, Price } from "../../core/domain/bounds.ts";
import { UNIFIED_SYMBOL, UnifiedSymbol } from "../../core/domain/market.ts";
import { AccountId, OrderType, Side, StrategyId, TOKEN_ID } from "../../core/domain/trading.ts";

/**
 * submit_order's arguments: the schema (its issues and JSON Schema), and a hand-checked equivalent of
 * it for well-formed arguments, which the order path takes without zod's walk of the object (the
 * in-process strategy host calls it on every decision). Anything the quick check does not accept
 * goes through the schema, which gives the issues; a property test holds the two to the same answers.
 */
const VENUE_NAME = /^[a-z0-9]+$/;
const CLIENT_ORDER_ID = /^[A-Za-z0-9._:-]{1,36}$/;

export const Venue = z.string().regex(VENUE_NAME, "a venue name such as paper or binance");
export const ClientOrderId = z.string().regex(CLIENT_ORDER_ID, "1–36 characters of A–Z a–z 0–9 . _ : -");

export const SubmitOrderInput = z
  .object({
    venue: Venue.optional(),
    account: AccountId.default("default"),
    symbol: UnifiedSymbol,
    side: Side,
    type: OrderType.default("market"),
    amount: Amount,
    price: Price.optional(),
    stop_price: Price.optional(),
    client_order_id: ClientOrderId.optional(),
    strategy_id: StrategyId.optional().describe("the strategy instance placing the order (attribution)"),
  })
  .strict();
export type SubmitOrderInput = z.output<typeof SubmitOrderInput>;

const KEYS = new Set(Object.keys(SubmitOrderInput.shape));
const SIDES: ReadonlySet<unknown> = new Set(Side.options);
const TYPES: ReadonlySet<unknown> = new Set(OrderType.options);

const text = (v: unknown, rule: RegExp): v is string => typeof v === "string" && rule.test(v);
/** z.number().min().max(): finite (zod 4 refuses ±Infinity and NaN) and within the bounds. */
const within = (v: unknown, b: { min: number; max: number }): v is number =>
  typeof v === "number" && Number.isFinite(v) && v >= b.min && v <= b.max;
/** An optional field: absent (or undefined), or valid. */
const optional = (v: unknown, ok: (v: unknown) => boolean) => v === undefined || ok(v);

/** `args` as a plain object with only submit_order's keys, else undefined. */
function plainArgs(args: unknown): Record<string, unknown> | undefined {
  if (typeof args !== "object" || args === null || Array.isArray(args)) return undefined;
  if (Object.getPrototypeOf(args) !== Object.prototype) return undefined;
  for (const key of Object.keys(args)) if (!KEYS.has(key)) return undefined;
  return args as Record<string, unknown>;
}

/** The parsed arguments when `args` is well formed; undefined sends them through the schema. */
export function quickSubmitInput(args: unknown): SubmitOrderInput | undefined {
  const a = plainArgs(args);
  if (a === undefined) return undefined;
  const { symbol, side, amount } = a;
  // zod's defaults apply to undefined only (null is refused).
  const account = a.account === undefined ? "default" : a.account;
  const type = a.type === undefined ? "market" : a.type;
  if (!text(symbol, UNIFIED_SYMBOL) || !SIDES.has(side) || !within(amount, bounds.amount)) return undefined;
  if (!text(account, TOKEN_ID) || !TYPES.has(type) || !validOptionals(a)) return undefined;
  return withOptionals(a, {
    account,
    symbol,
    side: side as SubmitOrderInput["side"],
    type: type as SubmitOrderInput["type"],
    amount,
  });
}

/** `out` with the optional fields of `a` that are present (checked already). */
function withOptionals(a: Record<string, unknown>, out: SubmitOrderInput): SubmitOrderInput {
  if (a.venue !== undefined) out.venue = a.venue as string;
  if (a.price !== undefined) out.price = a.price as number;
  if (a.stop_price !== undefined) out.stop_price = a.stop_price as number;
  if (a.client_order_id !== undefined) out.client_order_id = a.client_order_id as string;
  if (a.strategy_id !== undefined) out.strategy_id = a.strategy_id as string;
  return out;
}

/** Each optional field absent (or undefined), or valid. */
function validOptionals(a: Record<string, unknown>): boolean {
  return (
    optional(a.venue, (v) => text(v, VENUE_NAME)) &&
    optional(a.price, (v) => within(v, bounds.price)) &&
    optional(a.stop_price, (v) => within(v, bounds.price)) &&
    optional(a.client_order_id, (v) => text(v, CLIENT_ORDER_ID)) &&
    optional(a.strategy_id, (v) => text(v, TOKEN_ID))
  );
}
