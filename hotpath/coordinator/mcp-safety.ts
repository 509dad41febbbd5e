import type { ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import type { ToolNature } from "../../core/agents/manifest.ts";

/**
 * The MCP server's safety rules, as pure decisions: annotations from the manifest's tool natures, the
 * toolset allowlist, which calls place orders and on which venues, and a per-session order budget.
 */

/**
 * MCP tool annotations from a tool's nature (the manifest's `tools` map):
 * - `read`: changes nothing → readOnly, idempotent (any number of calls give the same effect: none).
 * - `write`: changes Bot4's own state (limits, models, subscriptions, queued runs) → not read-only,
 *   not destructive (nothing outside Bot4 changes, the change can be undone by another call), and
 *   **not idempotent**: train_model and submit_backtest without a run_id create a new model / run on
 *   every call.
 * - `trade`: places or cancels orders on a venue → destructive, open-world (a venue outside Bot4),
 *   not idempotent (a repeated submit without client_order_id is a second order).
 * A tool the manifest does not list is treated as `trade`, the most cautious nature.
 */
export function annotationsOf(nature: ToolNature | undefined): ToolAnnotations {
  switch (nature) {
    case "read":
      return { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
    case "write":
      return { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false };
    default:
      return { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true };
  }
}

/** The nature a call is judged by: the manifest's, or `trade` for a tool it does not list. */
export const natureOrTrade = (nature: ToolNature | undefined): ToolNature => nature ?? "trade";

export interface OrderIntent {
  /** Venues the order would reach. */
  venues: string[];
  symbol: string | undefined;
  amount: number;
  /** Limit price when the call gives one. */
  price: number | undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/**
 * The order a call would place, or undefined when it places none: `exchange.submit_order` always,
 * `exchange.route_order` with `execute: true` (on its `venues`, default every configured venue).
 * Cancels place nothing and are never held back.
 */
export function orderIntent(
  agent: string,
  tool: string,
  args: unknown,
  defaults: { defaultVenue: string; venues: readonly string[] },
): OrderIntent | undefined {
  if (agent !== "exchange" || !isRecord(args)) return undefined;
  const symbol = typeof args.symbol === "string" ? args.symbol : undefined;
  const amount = num(args.amount) ?? 0;
  if (tool === "submit_order") {
    const venue = typeof args.venue === "string" ? args.venue : defaults.defaultVenue;
    return { venues: [venue], symbol, amount, price: num(args.price) };
  }
  if (tool === "route_order" && args.execute === true) {
    const venues = Array.isArray(args.venues)
      ? args.venues.filter((v): v is string => typeof v === "string")
      : [...defaults.venues];
    return { venues, symbol, amount, price: num(args.price) };
  }
  return undefined;
}

export interface BudgetLimits {
  ordersPerMinute: number;
  notionalPerDay: number;
}

const MINUTE = 60_000;
const utcDay = (t: number) => Math.floor(t / 86_400_000);

/**
 * One MCP session's order budget: at most `ordersPerMinute` orders in any sliding minute and
 * `notionalPerDay` of notional per UTC day. `refusal` says why an order would break it (nothing is
 * counted); `record` counts an order that was placed.
 */
export class OrderBudget {
  private readonly times: number[] = [];
  private day = -1;
  private notional = 0;
  constructor(
    readonly limits: BudgetLimits,
    private readonly now: () => number = Date.now,
  ) {}

  private roll(t: number) {
    while (this.times.length > 0 && (this.times[0] as number) <= t - MINUTE) this.times.shift();
    if (utcDay(t) !== this.day) {
      this.day = utcDay(t);
      this.notional = 0;
    }
  }

  refusal(notional: number): string | undefined {
    const t = this.now();
    this.roll(t);
    if (this.times.length >= this.limits.ordersPerMinute)
      return `this MCP session has placed ${this.times.length} orders in the last minute; the budget is ${this.limits.ordersPerMinute} per minute (BOT4_MCP_ORDERS_PER_MINUTE)`;
    if (this.notional + notional > this.limits.notionalPerDay)
      return `an order of notional ${round(notional)} would take this MCP session to ${round(this.notional + notional)} today; the budget is ${this.limits.notionalPerDay} per UTC day (BOT4_MCP_NOTIONAL_PER_DAY)`;
    return undefined;
  }

  record(notional: number): void {
    const t = this.now();
    this.roll(t);
    this.times.push(t);
    this.notional += notional;
  }

  /** What is left today and this minute. */
  remaining(): { orders: number; notional: number } {
    this.roll(this.now());
    return {
      orders: Math.max(0, this.limits.ordersPerMinute - this.times.length),
      notional: Math.max(0, this.limits.notionalPerDay - this.notional),
    };
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

/** The message an order on a non-paper venue gets when the client cannot confirm it. */
export const unconfirmedRefusal = (venues: readonly string[]) =>
  `order refused: orders on ${venues.join(", ")} (not the paper venue) need the user's confirmation, and this MCP client does not support elicitation. Confirm in a client that does, place it through the CLI, or set BOT4_MCP_ALLOW_UNCONFIRMED_LIVE=true`;
