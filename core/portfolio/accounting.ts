import type { Fill, Position } from "../domain/trading.ts";

/**
 * The one position accounting of Bot4, shared by the exchange (its positions and the paper wallet's
 * view) and the risk service (its book), so both compute the same figures from the same fills.
 *
 * Per (account, venue, symbol), average-cost accounting, fee-aware:
 * - adding to a position moves the average price; reducing realises (price − average) × reduced amount;
 *   crossing zero realises the whole old position and opens the rest at the fill price;
 * - a fee in the quote currency is paid from cash and counted against realised PnL (`realizedPnl` is
 *   after fees; `fees` is the total paid in quote); a fee in the base currency reduces the amount held;
 * - cash (quote currency) per account starts at `initialCash` and moves by −side·amount·price − fee.
 * Unrealised PnL at a mark is amount × (mark − average). A fill id is applied once.
 */
export const EPSILON = 1e-12;

export function quoteOf(symbol: string): Readonly<{ base: string; quote: string }> {
  const known = currencies.get(symbol);
  if (known !== undefined) return known;
  const [pair = symbol] = symbol.split(":");
  const [base = pair, quote = ""] = pair.split("/");
  const parts = Object.freeze({ base, quote });
  // Remembered per symbol (every fill asks twice; a rebuild of 100,000 fills split 400,000 strings).
  if (currencies.size >= 4_096) currencies.clear();
  currencies.set(symbol, parts);
  return parts;
}
const currencies = new Map<string, Readonly<{ base: string; quote: string }>>();

/** A position after one more fill (pure). */
export function applyFill(old: Position | undefined, fill: Fill): Position {
  const amount0 = old?.amount ?? 0;
  const avg0 = old?.averagePrice ?? 0;
  let realized = old?.realizedPnl ?? 0;
  let fees = old?.fees ?? 0;
  const { base, quote } = quoteOf(fill.symbol);
  const delta = fill.side === "buy" ? fill.amount : -fill.amount;
  let amount1 = amount0 + delta;
  let avg1: number;
  if (Math.abs(amount0) < EPSILON || Math.sign(amount0) === Math.sign(delta)) {
    avg1 = (Math.abs(amount0) * avg0 + Math.abs(delta) * fill.price) / Math.abs(amount1);
  } else {
    const closed = Math.min(Math.abs(delta), Math.abs(amount0));
    realized += closed * (fill.price - avg0) * Math.sign(amount0);
    if (Math.abs(amount1) < EPSILON) avg1 = 0;
    else if (Math.sign(amount1) === Math.sign(amount0)) avg1 = avg0;
    else avg1 = fill.price;
  }
  if (fill.fee.currency === quote) {
    realized -= fill.fee.cost;
    fees += fill.fee.cost;
  } else if (fill.fee.currency === base) {
    amount1 -= fill.fee.cost;
    fees += fill.fee.cost * fill.price;
  }
  const flat = Math.abs(amount1) < EPSILON;
  return {
    account: fill.account,
    venue: fill.venue,
    symbol: fill.symbol,
    amount: flat ? 0 : amount1,
    averagePrice: flat || !Number.isFinite(avg1) ? 0 : avg1,
    realizedPnl: realized,
    fees,
    timestamp: fill.timestamp,
  };
}

/**
 * Cash (quote currency) after one fill: cash − side·amount·price − fee (a quote fee). The order of the
 * operations is fixed, so the paper wallet, the backtester and the risk book agree to the bit.
 */
export function applyCash(cash: number, fill: Fill): number {
  const sign = fill.side === "buy" ? 1 : -1;
  const { quote } = quoteOf(fill.symbol);
  return cash - sign * fill.amount * fill.price - (fill.fee.currency === quote ? fill.fee.cost : 0);
}

/** Unrealised PnL of a position at a mark. */
export const unrealizedPnl = (p: Pick<Position, "amount" | "averagePrice">, mark: number): number =>
  p.amount * (mark - p.averagePrice);

export interface LedgerOptions {
  /** Cash every account starts with, quote currency. */
  initialCash: number;
  /** How many recent fill ids are remembered for de-duplication (default 1,000,000). */
  fillMemory?: number;
}

export class PositionLedger {
  private readonly positions = new Map<string, Position>();
  private readonly cash = new Map<string, number>();
  private readonly seen = new Set<string>();
  private readonly order: string[] = [];
  private readonly memory: number;

  constructor(private readonly options: LedgerOptions) {
    if (!(options.initialCash >= 0))
      throw new RangeError(`initial cash must be non-negative, got ${options.initialCash}`);
    this.memory = options.fillMemory ?? 1_000_000;
  }

  static key(account: string, venue: string, symbol: string): string {
    return `${account}|${venue}|${symbol}`;
  }

  /** Applies a fill once; returns the new position, or undefined for a fill id already applied. */
  apply(fill: Fill): Position | undefined {
    if (this.seen.has(fill.id)) return undefined;
    this.seen.add(fill.id);
    this.order.push(fill.id);
    if (this.order.length > this.memory) {
      const old = this.order.shift();
      if (old !== undefined) this.seen.delete(old);
    }
    const key = PositionLedger.key(fill.account, fill.venue, fill.symbol);
    const position = applyFill(this.positions.get(key), fill);
    this.positions.set(key, position);
    this.cash.set(fill.account, applyCash(this.cashOf(fill.account), fill));
    return position;
  }

  /** Seeds a position the ledger has no fills for (e.g. fills older than the stream's retention). */
  seed(position: Position): boolean {
    const key = PositionLedger.key(position.account, position.venue, position.symbol);
    if (this.positions.has(key)) return false;
    this.positions.set(key, position);
    return true;
  }

  has(fillId: string): boolean {
    return this.seen.has(fillId);
  }

  cashOf(account: string): number {
    return this.cash.get(account) ?? this.options.initialCash;
  }

  accounts(): string[] {
    return [...new Set([...this.cash.keys(), ...[...this.positions.values()].map((p) => p.account)])];
  }

  get(account: string, venue: string, symbol: string): Position | undefined {
    return this.positions.get(PositionLedger.key(account, venue, symbol));
  }

  list(filter: { account?: string; venue?: string; symbol?: string } = {}): Position[] {
    return [...this.positions.values()].filter(
      (p) =>
        (filter.account === undefined || p.account === filter.account) &&
        (filter.venue === undefined || p.venue === filter.venue) &&
        (filter.symbol === undefined || p.symbol === filter.symbol),
    );
  }

  /** Positions with their unrealised PnL at the given marks (absent mark: none). */
  marked(
    mark: (symbol: string, venue: string) => number | undefined,
    filter: { account?: string; venue?: string; symbol?: string } = {},
  ): Position[] {
    return this.list(filter).map((p) => {
      const m = mark(p.symbol, p.venue);
      return m === undefined ? p : { ...p, unrealizedPnl: unrealizedPnl(p, m) };
    });
  }
}
