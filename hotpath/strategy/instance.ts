import { type Candle, timeframeMs } from "../../core/domain/market.ts";
import {
  type ClosedTrade,
  type Decision,
  type DecisionReason,
  decisionReasons,
  type KernelBook,
  type KernelParams,
  StrategyKernel,
} from "../../core/strategy/kernel.ts";
import { toProtections } from "../../core/strategy/kernel-spec.ts";
import { createStrategy } from "../../core/strategy/spec.ts";
import type { StrategyConfig, StrategyStatus } from "./config.ts";

/** A decision as get_strategy shows it: the kernel's, with the symbol. */
export type InstanceDecision = Decision & { symbol: string };

export interface OpenOrder {
  clientOrderId: string;
  symbol: string;
  side: "buy" | "sell";
  amount: number;
  reason: DecisionReason;
  status: string;
  placedAt: number;
}

/** What is stored per instance (KV `bot4_strategies`): all of it JSON. */
export interface StoredInstance {
  config: StrategyConfig;
  status: StrategyStatus;
  createdAt: number;
  updatedAt: number;
  books: Record<string, KernelBook>;
  decisions: InstanceDecision[];
  trades: ClosedTrade[];
  counters: { orders: number; fills: number; decisions: Partial<Record<DecisionReason, number>> };
}

const KEEP_DECISIONS = 50;
const KEEP_TRADES = 50;

/** Kinds whose decisions wait for the model's signal on the bar. */
export const signalDriven = (c: StrategyConfig) => c.strategy.kind === "ml_signal";

/**
 * One strategy instance in the live host: its config and status, one kernel per symbol (capital split
 * evenly), its orders in flight, recent decisions and trades, and counters for the metrics.
 */
export class StrategyInstance {
  config: StrategyConfig;
  status: StrategyStatus;
  readonly createdAt: number;
  updatedAt: number;
  kernels = new Map<string, StrategyKernel>();
  readonly decisions: InstanceDecision[];
  readonly trades: ClosedTrade[];
  readonly openOrders = new Map<string, OpenOrder>();
  counters: StoredInstance["counters"];
  /** Candles waiting for their signal (signal-driven kinds), by symbol. */
  readonly waiting = new Map<string, Candle>();
  /** KV revision of the stored record (compare-and-set). */
  revision = 0;
  dirty = false;

  constructor(stored: StoredInstance) {
    this.config = stored.config;
    this.status = stored.status;
    this.createdAt = stored.createdAt;
    this.updatedAt = stored.updatedAt;
    this.decisions = [...stored.decisions];
    this.trades = [...stored.trades];
    this.counters = structuredClone(stored.counters);
    this.build(stored.books);
  }

  static fresh(config: StrategyConfig, now: number): StrategyInstance {
    return new StrategyInstance({
      config,
      status: "running",
      createdAt: now,
      updatedAt: now,
      books: {},
      decisions: [],
      trades: [],
      counters: { orders: 0, fills: 0, decisions: {} },
    });
  }

  get barMs(): number {
    return timeframeMs[this.config.timeframe];
  }

  params(symbol: string, maxNotional?: number): KernelParams {
    const c = this.config;
    return {
      strategyId: c.id,
      symbol,
      capital: c.capital / c.symbols.length,
      sizing: c.sizing,
      amountStep: c.amountStep,
      maxNotional,
      protections: toProtections(c.protections),
      regimes: c.regimes,
    };
  }

  /** (Re)builds the kernels: fresh indicators, the given books (positions and statistics) kept. */
  build(books: Record<string, KernelBook>, maxNotional?: number): void {
    this.kernels = new Map();
    for (const symbol of this.config.symbols) {
      const holder: { kernel?: StrategyKernel } = {};
      const strategy = createStrategy(this.config.strategy, {
        signals: { probabilityAt: (_i, bar) => holder.kernel?.probabilityAt(bar.ts) },
      });
      const kernel = new StrategyKernel(
        strategy,
        this.params(symbol, maxNotional),
        {
          onDecision: (d) => this.record({ ...d, symbol }),
          onTrade: (t) => {
            this.trades.push(t);
            if (this.trades.length > KEEP_TRADES) this.trades.splice(0, this.trades.length - KEEP_TRADES);
          },
        },
        books[symbol],
      );
      holder.kernel = kernel;
      this.kernels.set(symbol, kernel);
    }
  }

  /** New parameters that keep the indicators (sizing, protections, capital, regimes). */
  reconfigure(config: StrategyConfig, maxNotional?: number): void {
    this.config = config;
    for (const [symbol, k] of this.kernels) k.reconfigure(this.params(symbol, maxNotional));
  }

  private record(d: InstanceDecision): void {
    this.decisions.push(d);
    if (this.decisions.length > KEEP_DECISIONS)
      this.decisions.splice(0, this.decisions.length - KEEP_DECISIONS);
    this.counters.decisions[d.reason] = (this.counters.decisions[d.reason] ?? 0) + 1;
    this.dirty = true;
  }

  /**
   * Symbols with a non-zero position: realised PnL of the symbol's closed round trips after fees, and the
   * open position's unrealised PnL at the mark after its entry fees (the terms of `profit`).
   */
  positions(): StrategyPosition[] {
    const out: StrategyPosition[] = [];
    for (const [symbol, k] of this.kernels) {
      const b = k.book;
      if (Math.abs(b.pos) <= 1e-12) continue;
      out.push({
        symbol,
        amount: b.pos,
        averagePrice: b.open?.avgEntry ?? 0,
        mark: b.mark,
        realizedPnl: b.realizedPnl,
        unrealizedPnl: openPnl(b),
        ...(b.open !== undefined ? { entryTs: b.open.entryTs } : {}),
      });
    }
    return out;
  }

  /** A position is protected while the instance runs; stopped or paused, nothing guards it. */
  get unprotected(): boolean {
    return this.status !== "running" && this.positions().length > 0;
  }

  stored(): StoredInstance {
    const books: Record<string, KernelBook> = {};
    for (const [symbol, k] of this.kernels) books[symbol] = k.book;
    return {
      config: this.config,
      status: this.status,
      createdAt: this.createdAt,
      updatedAt: this.updatedAt,
      books,
      decisions: this.decisions,
      trades: this.trades,
      counters: this.counters,
    };
  }

  /** Realised PnL after fees, unrealised at the marks, win rate and max drawdown over the kernels. */
  profit() {
    let realized = 0;
    let unrealized = 0;
    let fees = 0;
    let trades = 0;
    let wins = 0;
    let maxDrawdown = 0;
    let exposure = 0;
    let equity = 0;
    for (const k of this.kernels.values()) {
      const b = k.book;
      realized += b.realizedPnl;
      fees += b.fees;
      trades += b.trades;
      wins += b.wins;
      if (b.maxDrawdown > maxDrawdown) maxDrawdown = b.maxDrawdown;
      unrealized += openPnl(b);
      exposure += Math.abs(b.pos) * Math.max(b.mark, 0);
      equity += k.equity();
    }
    return {
      realizedPnl: realized,
      unrealizedPnl: unrealized,
      fees,
      trades,
      wins,
      winRate: trades === 0 ? null : wins / trades,
      maxDrawdown,
      exposure,
      equity,
      capital: this.config.capital,
    };
  }
}

export { decisionReasons };

export interface StrategyPosition {
  symbol: string;
  amount: number;
  averagePrice: number;
  mark: number;
  realizedPnl: number;
  unrealizedPnl: number;
  entryTs?: number;
}

/** The open round trip at the mark, after its entry fees (0 when flat or not yet marked). */
function openPnl(b: KernelBook): number {
  if (b.open === undefined || b.mark <= 0) return 0;
  return b.open.dir * (b.mark - b.open.avgEntry) * b.open.qty - b.open.entryFees;
}
