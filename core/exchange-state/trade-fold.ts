import { Fill, Order, tradeEventType } from "../domain/trading.ts";
import { TERMINAL } from "../domain/order-state.ts";

/**
 * The exchange's trade history folded to what a restart needs: the latest state of each order (keyed
 * by venue and client order id) and every fill (by id), up to an EVENTS stream sequence. Pure and
 * sequential: folding a prefix of the stream, then the rest, gives exactly what folding the whole
 * stream gives — which is what makes a snapshot (the fold up to a sequence) plus the tail after it
 * equal to a full replay, field by field. Map order is insertion order and is kept by snapshots.
 *
 * An order's latest state: the one with the most filled, terminal over open, then the latest update
 * (a tie goes to the later message) — so an out-of-order redelivery never moves an order back.
 */
export const SOURCE = "exchange";

const rank = (o: Order) => (TERMINAL.has(o.status) ? 2 : o.status === "submitted" ? 0 : 1);

/** True when `b` is a later state of the same order than `a`. */
export function isLater(a: Order, b: Order): boolean {
  if (b.filled !== a.filled) return b.filled > a.filled;
  if (rank(b) !== rank(a)) return rank(b) > rank(a);
  return b.updatedAt >= a.updatedAt;
}

/** The key of an order (venue, client order id); the exchange's order records use the same. */
export const orderKeyOf = (venue: string, clientOrderId: string) => `${venue}|${clientOrderId}`;
export const orderKey = (o: Pick<Order, "venue" | "clientOrderId">) => orderKeyOf(o.venue, o.clientOrderId);

export class TradeFold {
  readonly orders = new Map<string, Order>();
  readonly fills = new Map<string, Fill>();
  /** The last EVENTS sequence folded in (0: nothing yet). */
  seq = 0;

  /** A fold rebuilt from a snapshot's content (orders and fills in their original insertion order). */
  static of(seq: number, orders: readonly Order[], fills: readonly Fill[]): TradeFold {
    const fold = new TradeFold();
    fold.seq = seq;
    for (const o of orders) fold.orders.set(orderKey(o), o);
    for (const f of fills) fold.fills.set(f.id, f);
    return fold;
  }

  /**
   * Folds in one stored message (its sequence and envelope). Throws on an event of this service that
   * does not parse (the caller logs and skips it); events of other sources are ignored.
   */
  apply(seq: number, env: { source?: string; type?: string; data?: unknown }): void {
    if (seq > this.seq) this.seq = seq;
    if (env.source !== SOURCE) return;
    if (env.type === tradeEventType.fill) {
      const fill = Fill.parse(env.data);
      this.fills.set(fill.id, fill);
    } else if (typeof env.type === "string" && env.type.startsWith("order.")) {
      const order = Order.parse(env.data);
      const key = orderKey(order);
      const prev = this.orders.get(key);
      if (prev === undefined || isLater(prev, order)) this.orders.set(key, order);
    }
  }
}
