import type { Fill, Position } from "../domain/trading.ts";
import type { Estimates } from "./estimator.ts";
import type { RiskLimits, RiskSnapshot } from "./snapshot.ts";

/**
 * The risk service's view of every account: cash, positions per venue and symbol, latest marks, peak
 * equity. Fills move cash and amounts (a fill id is applied once, so redelivery changes nothing);
 * `position.changed` sets a venue's amount to the exchange's figure. Equity = cash + Σ amount·mark,
 * which holds for spot and for linear contracts alike. A fee in the quote currency comes out of cash,
 * a fee in the base currency out of the position; fees in a third currency are not valued.
 */
export interface BookOptions {
  /** Cash every account starts with, quote currency. */
  initialEquity: number;
  /** How many recent fill ids are remembered for de-duplication. */
  fillMemory?: number;
}

interface Account {
  cash: number;
  /** `${venue} ${symbol}` → amount */
  amounts: Map<string, { venue: string; symbol: string; amount: number }>;
  peak: number;
}

function quoteOf(symbol: string): { base: string; quote: string } {
  const [pair = symbol] = symbol.split(":");
  const [base = pair, quote = ""] = pair.split("/");
  return { base, quote };
}

export class RiskBook {
  private readonly accountsById = new Map<string, Account>();
  private readonly marks = new Map<string, number>();
  private readonly markTimes = new Map<string, number>();
  private readonly seenFills = new Set<string>();
  private readonly fillOrder: string[] = [];
  private readonly fillMemory: number;

  constructor(private readonly options: BookOptions) {
    if (!(options.initialEquity >= 0))
      throw new RangeError(`initial equity must be non-negative, got ${options.initialEquity}`);
    this.fillMemory = options.fillMemory ?? 100_000;
  }

  private account(id: string): Account {
    let a = this.accountsById.get(id);
    if (a === undefined) {
      a = { cash: this.options.initialEquity, amounts: new Map(), peak: this.options.initialEquity };
      this.accountsById.set(id, a);
    }
    return a;
  }

  accounts(): string[] {
    return [...this.accountsById.keys()];
  }

  /** Applies a fill once; returns false for a fill id already applied. */
  applyFill(fill: Fill): boolean {
    if (this.seenFills.has(fill.id)) return false;
    this.seenFills.add(fill.id);
    this.fillOrder.push(fill.id);
    if (this.fillOrder.length > this.fillMemory) {
      const old = this.fillOrder.shift();
      if (old !== undefined) this.seenFills.delete(old);
    }
    const a = this.account(fill.account);
    const key = `${fill.venue} ${fill.symbol}`;
    const held = a.amounts.get(key) ?? { venue: fill.venue, symbol: fill.symbol, amount: 0 };
    const sign = fill.side === "buy" ? 1 : -1;
    held.amount += sign * fill.amount;
    a.cash -= sign * fill.amount * fill.price;
    const { base, quote } = quoteOf(fill.symbol);
    if (fill.fee.currency === quote) a.cash -= fill.fee.cost;
    else if (fill.fee.currency === base) held.amount -= fill.fee.cost;
    a.amounts.set(key, held);
    if (!this.marks.has(fill.symbol)) this.marks.set(fill.symbol, fill.price);
    this.touch(a);
    return true;
  }

  /** Sets a venue's position to the exchange's figure; returns true when it changed. */
  applyPosition(position: Position): boolean {
    const a = this.account(position.account);
    const key = `${position.venue} ${position.symbol}`;
    const held = a.amounts.get(key);
    if (held !== undefined && held.amount === position.amount) return false;
    a.amounts.set(key, { venue: position.venue, symbol: position.symbol, amount: position.amount });
    if (!this.marks.has(position.symbol) && position.averagePrice > 0)
      this.marks.set(position.symbol, position.averagePrice);
    this.touch(a);
    return true;
  }

  /**
   * Records the price of a symbol at `ts` (integer ms); a price older than the latest one is ignored
   * (tickers and candle closes interleave). Returns true when the mark changed.
   */
  applyPrice(symbol: string, price: number, ts?: number): boolean {
    if (!(price > 0)) return false;
    if (ts !== undefined) {
      if (ts < (this.markTimes.get(symbol) ?? Number.NEGATIVE_INFINITY)) return false;
      this.markTimes.set(symbol, ts);
    }
    if (this.marks.get(symbol) === price) return false;
    this.marks.set(symbol, price);
    for (const a of this.accountsById.values()) this.touch(a);
    return true;
  }

  mark(symbol: string): number | undefined {
    return this.marks.get(symbol);
  }

  equity(accountId: string): number {
    const a = this.accountsById.get(accountId);
    if (a === undefined) return this.options.initialEquity;
    let equity = a.cash;
    for (const held of a.amounts.values()) equity += held.amount * (this.marks.get(held.symbol) ?? 0);
    return equity;
  }

  private touch(a: Account): void {
    let equity = a.cash;
    for (const held of a.amounts.values()) equity += held.amount * (this.marks.get(held.symbol) ?? 0);
    if (equity > a.peak) a.peak = equity;
  }

  /** The snapshot of one account: positions aggregated over venues, at the latest marks. */
  snapshot(accountId: string, limits: RiskLimits, estimates: Estimates, now: number): RiskSnapshot {
    const a = this.accountsById.get(accountId);
    const positions: RiskSnapshot["positions"] = {};
    if (a !== undefined) {
      const bySymbol = new Map<string, number>();
      for (const held of a.amounts.values())
        bySymbol.set(held.symbol, (bySymbol.get(held.symbol) ?? 0) + held.amount);
      for (const [symbol, amount] of bySymbol) {
        const mark = this.marks.get(symbol);
        if (amount !== 0 && mark !== undefined) positions[symbol] = { amount, mark };
      }
    }
    const equity = this.equity(accountId);
    return {
      account: accountId,
      equity,
      peakEquity: Math.max(a?.peak ?? this.options.initialEquity, equity),
      positions,
      marks: Object.fromEntries(this.marks),
      volatility: { ...estimates.volatility },
      symbols: [...estimates.symbols],
      correlation: estimates.correlation.map((r) => [...r]),
      limits,
      updatedAt: now,
    };
  }
}
