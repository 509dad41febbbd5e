import type { OrderBook } from "../../core/domain/market.ts";
import type { Side } from "../../core/domain/trading.ts";
import { allInPrice } from "../../core/execution/fees.ts";

/**
 * Smart order routing, pure: split one order across venues' books by all-in price (price after the
 * venue's taker fee: a buyer pays p·(1+f), a seller receives p·(1−f)). Every level of every book is
 * ranked by all-in price and taken best first until the amount is done, so the split follows depth;
 * each venue's share is then rounded DOWN to its step size and whatever that, or missing depth,
 * leaves over is reported as `unfilled`.
 */
export interface VenueBook {
  venue: string;
  book: Pick<OrderBook, "bids" | "asks">;
  takerFee: number;
  stepSize?: number;
}

export interface RouteLeg {
  venue: string;
  amount: number;
  /** Volume-weighted price before fees. */
  averagePrice: number;
  /** Volume-weighted all-in price after the taker fee. */
  allInPrice: number;
  /** Estimated fee in quote currency. */
  fee: number;
  /** Worst level price the leg reaches: a limit price that bounds the child order. */
  worstPrice: number;
}

export interface RoutePlan {
  side: Side;
  amount: number;
  legs: RouteLeg[];
  filled: number;
  unfilled: number;
  allInAveragePrice?: number;
}

export function planRoute(side: Side, amount: number, books: readonly VenueBook[]): RoutePlan {
  const levels: { venue: VenueBook; price: number; amount: number; allIn: number }[] = [];
  for (const vb of books) {
    for (const [price, size] of side === "buy" ? vb.book.asks : vb.book.bids) {
      levels.push({ venue: vb, price, amount: size, allIn: allInPrice(side, price, vb.takerFee) });
    }
  }
  levels.sort((a, b) => (side === "buy" ? a.allIn - b.allIn : b.allIn - a.allIn));
  const takes = new Map<string, { vb: VenueBook; parts: { price: number; amount: number }[] }>();
  let left = amount;
  for (const l of levels) {
    if (left <= amount * 1e-12) break;
    const take = Math.min(left, l.amount);
    const entry = takes.get(l.venue.venue) ?? { vb: l.venue, parts: [] };
    entry.parts.push({ price: l.price, amount: take });
    takes.set(l.venue.venue, entry);
    left -= take;
  }
  const legs: RouteLeg[] = [];
  for (const { vb, parts } of takes.values()) {
    let total = parts.reduce((s, p) => s + p.amount, 0);
    if (vb.stepSize !== undefined && vb.stepSize > 0) {
      total = Math.floor(total / vb.stepSize + 1e-9) * vb.stepSize;
      total = Number(total.toFixed(12));
    }
    if (total <= 0) continue;
    // Re-walk the parts (best first) for the rounded amount.
    let rest = total;
    let notional = 0;
    let worst = parts[0]?.price ?? 0;
    for (const p of parts) {
      if (rest <= 0) break;
      const a = Math.min(rest, p.amount);
      notional += a * p.price;
      worst = p.price;
      rest -= a;
    }
    const averagePrice = notional / total;
    legs.push({
      venue: vb.venue,
      amount: total,
      averagePrice,
      allInPrice: allInPrice(side, averagePrice, vb.takerFee),
      fee: notional * vb.takerFee,
      worstPrice: worst,
    });
  }
  legs.sort((a, b) => b.amount - a.amount);
  const filled = legs.reduce((s, l) => s + l.amount, 0);
  const allInNotional = legs.reduce((s, l) => s + l.amount * l.allInPrice, 0);
  return {
    side,
    amount,
    legs,
    filled,
    unfilled: Math.max(0, amount - filled),
    ...(filled > 0 ? { allInAveragePrice: allInNotional / filled } : {}),
  };
}
