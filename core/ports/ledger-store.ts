import type { FillRow, LedgerEvent, MarkRow, PositionRow, TradeRow } from "../ledger/model.ts";

/**
 * The ledger's store, as a port: the function's handler and tools talk to this, and an adapter
 * (functions/ledger/sql: PGlite by default, PostgreSQL when POSTGRES_URL is set) implements it with
 * one SQL schema and one set of versioned migrations.
 *
 * `apply` is the one write. Per batch, in one transaction: record the event ids in the inbox
 * (`ON CONFLICT DO NOTHING`), keep the events that were new, load the positions they touch, run the
 * pure projection (core/ledger/projection.ts) and write its rows with multi-row statements. The
 * trigger acks the batch only after `apply` resolved (the transaction committed), so a crash before
 * the commit redelivers the batch and one after it finds every event id in the inbox: replays and
 * redeliveries change nothing.
 */

export interface TradeFilter {
  strategy?: string | undefined;
  symbol?: string | undefined;
  account?: string | undefined;
  venue?: string | undefined;
  /** Trades opened at or after (ms). */
  from?: number | undefined;
  /** Trades opened at or before (ms). */
  to?: number | undefined;
  status?: "open" | "closed" | undefined;
}

export interface TradePage {
  trades: TradeRow[];
  /** Pass as `cursor` for the next page; null on the last one. */
  next_cursor: string | null;
}

/** Closed and open trades aggregated per strategy and symbol (the profit report's raw numbers). */
export interface ProfitGroup {
  strategy_id: string;
  symbol: string;
  venue: string;
  closed: number;
  wins: number;
  losses: number;
  realized_pnl: number;
  gross_profit: number;
  gross_loss: number;
  fee_quote: number;
  fee_base_quote: number;
  entry_notional_closed: number;
  open: number;
  open_qty: number;
  open_cost: number;
}

export interface PerformanceRow {
  symbol: string;
  count: number;
  profit_abs: number;
  /** Sum of the trades' realised PnL over their entry notional (freqtrade's `profit_ratio` sum). */
  profit_ratio: number;
}

export type Period = "day" | "week" | "month";

export interface PeriodRow {
  /** Start of the period (ms, UTC; weeks start on Monday). */
  start: number;
  trades: number;
  wins: number;
  realized_pnl: number;
  fees_quote: number;
}

export interface BalancePoint {
  /** End of the bucket (ms). */
  at: number;
  realized_pnl: number;
  fees_quote: number;
  /** Realised PnL after fees from the first fill up to the end of this bucket. */
  cumulative_pnl: number;
}

export interface TableDigest {
  rows: number;
  /** md5 of the table's rows as text, in key order (equal digests: equal tables). */
  digest: string;
}

export interface LedgerStore {
  /** Which adapter: "pglite" or "postgres". */
  readonly kind: "pglite" | "postgres";
  /** Applies a batch in one transaction; counts the events that were new and those already applied. */
  apply(events: readonly LedgerEvent[]): Promise<{ applied: number; duplicates: number }>;
  trades(filter: TradeFilter, page: { limit: number; cursor?: string | undefined }): Promise<TradePage>;
  trade(id: string): Promise<{ trade: TradeRow; fills: FillRow[] } | undefined>;
  profit(filter: TradeFilter): Promise<ProfitGroup[]>;
  performance(filter: TradeFilter): Promise<PerformanceRow[]>;
  periodPnl(period: Period, filter: TradeFilter, limit: number): Promise<PeriodRow[]>;
  balanceHistory(filter: TradeFilter, bucketMs: number, limit: number): Promise<BalancePoint[]>;
  positions(): Promise<PositionRow[]>;
  marks(): Promise<MarkRow[]>;
  /** The highest stream sequence applied (0 when empty). */
  lastSeq(): Promise<number>;
  /** Row count and content digest of every projected table. */
  digests(): Promise<Record<string, TableDigest>>;
  /**
   * Replays the events (`read(fromSeq)` yields batches in stream order, up to the last stored when
   * it was called) into a fresh database next to this one and replaces this one's tables with it.
   */
  rebuild(
    read: (fromSeq: number) => AsyncIterable<readonly LedgerEvent[]>,
  ): Promise<{ events: number; lastSeq: number }>;
  close(): Promise<void>;
}
