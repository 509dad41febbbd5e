import type { Fill, Position } from "../../core/domain/trading.ts";

/**
 * Net positions per (account, venue, symbol) from fills, with average-cost accounting: adding to a
 * position moves the average price; reducing realises (price − average) × amount on the reduced part;
 * crossing through zero realises the whole old position and opens the rest at the fill price. Fees are
 * not part of the position (they are on the fills).
 */
export class PositionBook {
  private readonly positions = new Map<string, Position>();

  static key(account: string, venue: string, symbol: string): string {
    return `${account}|${venue}|${symbol}`;
  }

  apply(fill: Fill): Position {
    const key = PositionBook.key(fill.account, fill.venue, fill.symbol);
    const old = this.positions.get(key);
    const amount0 = old?.amount ?? 0;
    const avg0 = old?.averagePrice ?? 0;
    let realized = old?.realizedPnl ?? 0;
    const delta = fill.side === "buy" ? fill.amount : -fill.amount;
    const amount1 = amount0 + delta;
    let avg1: number;
    if (amount0 === 0 || Math.sign(amount0) === Math.sign(delta)) {
      avg1 = (Math.abs(amount0) * avg0 + Math.abs(delta) * fill.price) / Math.abs(amount1);
    } else {
      const closed = Math.min(Math.abs(delta), Math.abs(amount0));
      realized += closed * (fill.price - avg0) * Math.sign(amount0);
      if (Math.abs(amount1) < 1e-12) avg1 = 0;
      else if (Math.sign(amount1) === Math.sign(amount0)) avg1 = avg0;
      else avg1 = fill.price;
    }
    const position: Position = {
      account: fill.account,
      venue: fill.venue,
      symbol: fill.symbol,
      amount: Math.abs(amount1) < 1e-12 ? 0 : amount1,
      averagePrice: Math.abs(amount1) < 1e-12 ? 0 : avg1,
      realizedPnl: realized,
      timestamp: fill.timestamp,
    };
    this.positions.set(key, position);
    return position;
  }

  list(filter: { account?: string; venue?: string; symbol?: string } = {}): Position[] {
    return [...this.positions.values()].filter(
      (p) =>
        (filter.account === undefined || p.account === filter.account) &&
        (filter.venue === undefined || p.venue === filter.venue) &&
        (filter.symbol === undefined || p.symbol === filter.symbol),
    );
  }
}
