import type { Order, OrderStatus } from "./trading.ts";

/**
 * The order state machine, the one place that says which state may follow which:
 *
 *   submitted ──► accepted ──► partially_filled ──► filled
 *       │             │               │
 *       └─────────────┴───────────────┴──► canceled | expired
 *   submitted | accepted ──► rejected          (rejected never follows a fill)
 *   submitted ──► partially_filled | filled    (a venue that answers with the fills)
 *
 * Terminal states (filled, canceled, rejected, expired) are final. A state may repeat (its fields
 * refreshed), and the filled amount never goes down. Anything else — `rejected` then `accepted`, a
 * terminal order reopened, a fill undone — is refused by the order manager, which keeps the state it
 * has, publishes nothing, and logs the refused transition.
 */
export const TERMINAL: ReadonlySet<string> = new Set<OrderStatus>([
  "filled",
  "canceled",
  "rejected",
  "expired",
]);

const NEXT: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  submitted: ["accepted", "partially_filled", "filled", "canceled", "expired", "rejected"],
  accepted: ["partially_filled", "filled", "canceled", "expired", "rejected"],
  partially_filled: ["filled", "canceled", "expired"],
  filled: [],
  canceled: [],
  rejected: [],
  expired: [],
};

/** Why `to` cannot follow `from` (same order), or undefined when the transition is legal. */
export function illegalTransition(
  from: Pick<Order, "status" | "filled">,
  to: Pick<Order, "status" | "filled">,
): string | undefined {
  if (to.filled < from.filled) return `filled cannot go down (${from.filled} → ${to.filled})`;
  if (to.status === from.status || NEXT[from.status].includes(to.status)) return undefined;
  return `${from.status} → ${to.status} is not a legal order transition`;
}
