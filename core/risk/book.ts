import type { Fill, Position } from "../domain/trading.ts";
import { PositionLedger } from "../portfolio/accounting.ts";
import type { Estimates } from "./estimator.ts";
import type { RiskLimits, RiskSnapshot } from "./snapshot.ts";

/**
 * The risk service's view of every account: cash, positions per venue and symbol, latest marks, peak
 * equity. Cash and positions come from fills through core/portfolio/accounting.ts, the accounting the
 * exchange uses too (a fill id is applied once, so redelivery changes nothing). Equity = cash +
 * Σ amount·mark, which holds for spot and for linear contracts alike. A fee in the quote currency comes
 * out of cash, a fee in the base currency out of the position; fees in a third currency are not valued.
 */
export interface BookOptions {
  /** Cash every account starts with, quote currency. */
  initialEquity: number;
  /** How many recent fill ids are remembered for de-duplication. */
  fillMemory?: number;
}

interface Account {
  peak: number;
}

export class RiskBook {
  /** Cash and positions: the one fee-aware accounting the exchange uses too. */
  readonly ledger: PositionLedger;
  private readonly accountsById = new Map<string, Account>();
  private readonly marks = new Map<string, number>();
  private readonly markTimes = new Map<string, number>();

  constructor(private readonly options: BookOptions) {
    if (!(options.initialEquity >= 0))
      throw new RangeError(`initial equity must be non-negative, got ${options.initialEquity}`);
    this.ledger = new PositionLedger({
      initialCash: options.initialEquity,
      ...(options.fillMemory !== undefined ? { fillMemory: options.fillMemory } : {}),
    });
  }

  private account(id: string): Account {
    let a = this.accountsById.get(id);
    if (a === undefined) {
      a = { peak: this.options.initialEquity };
      this.accountsById.set(id, a);
    }
    return a;
  }

  accounts(): string[] {
    return [...this.accountsById.keys()];
  }

  /** Applies a fill once; returns false for a fill id already applied. */
  applyFill(fill: Fill): boolean {
    if (this.ledger.apply(fill) === undefined) return false;
    if (!this.marks.has(fill.symbol)) this.marks.set(fill.symbol, fill.price);
    this.touch(fill.account);
    return true;
  }

  /**
   * A `position.changed` event: the book computes positions from fills itself (the same accounting
   * as the exchange), so the event only seeds a position it has no fills for (fills aged out of
   * EVENTS). Returns true when it changed the book.
   */
  applyPosition(position: Position): boolean {
    this.account(position.account);
    if (!this.ledger.seed(position)) return false;
    if (!this.marks.has(position.symbol) && position.averagePrice > 0)
      this.marks.set(position.symbol, position.averagePrice);
    this.touch(position.account);
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
    for (const a of this.accountsById.keys()) this.touch(a);
    return true;
  }

  mark(symbol: string): number | undefined {
    return this.marks.get(symbol);
  }

  /** Cash of an account, quote currency. */
  cash(accountId: string): number {
    return this.ledger.cashOf(accountId);
  }

  equity(accountId: string): number {
    let equity = this.ledger.cashOf(accountId);
    for (const p of this.ledger.list({ account: accountId }))
      equity += p.amount * (this.marks.get(p.symbol) ?? 0);
    return equity;
  }

  private touch(accountId: string): void {
    const a = this.account(accountId);
    const equity = this.equity(accountId);
    if (equity > a.peak) a.peak = equity;
  }

  /** The snapshot of one account: positions aggregated over venues, at the latest marks. */
  snapshot(accountId: string, limits: RiskLimits, estimates: Estimates, now: number): RiskSnapshot {
    const a = this.accountsById.get(accountId);
    const positions: RiskSnapshot["positions"] = {};
    const bySymbol = new Map<string, number>();
    for (const held of this.ledger.list({ account: accountId }))
      bySymbol.set(held.symbol, (bySymbol.get(held.symbol) ?? 0) + held.amount);
    for (const [symbol, amount] of bySymbol) {
      const mark = this.marks.get(symbol);
      if (amount !== 0 && mark !== undefined) positions[symbol] = { amount, mark };
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
