import type { Candle } from "../domain/market.ts";
import { timeframeMs } from "../domain/market.ts";
import type { Side } from "../domain/trading.ts";
import {
  type FillModelOptions,
  type FillOutcome,
  fillAgainstBook,
  fillAgainstCandle,
  type WorkingOrder,
} from "../execution/fill-model.ts";
import { type BookOptions, bookFromCandle } from "../market/simulator.ts";
import {
  type ClosedTrade,
  closeTrade,
  type Decision,
  type KernelSizing,
  type PlaceOrder,
  type Protections,
  StrategyKernel,
} from "../strategy/kernel.ts";
import type { Sizing } from "../strategy/orders.ts";
import type { Strategy } from "../strategy/strategy.ts";

/**
 * The event-driven backtest engine: bar by bar, through the strategy interface, the sizing rule, the
 * fill model and the fee schedule the live path uses (all imported from core). Pure and synchronous.
 *
 * Each bar i, in this order:
 *   1. (`next_open`) the order decided on bar i−1 meets bar i through `fillAgainstCandle` — the bar
 *      AFTER the decision, at its open plus slippage;
 *   2. the strategy is fed bar i (and only bar i: it has seen bars 0…i and nothing later) and may set
 *      a new target;
 *   3. a new target is sized against the equity marked at bar i's close: desired = target × fraction ×
 *      equity / close; the market order toward it is
 *   4. (`book`, the default, which is what the paper venue does on a closed candle) filled at once
 *      against the book at bar i's close, `bookFromCandle(bar i)`, through `fillAgainstBook` — depth,
 *      slippage and taker fee included; depth that runs out leaves the rest to chase on later bars;
 *   5. equity = cash + position × close_i is recorded.
 * Bars before `startIndex` only warm the strategy up: no order, no equity point. Shorts are allowed
 * when the strategy asks for them and are modelled as a negative position (no borrow cost, no margin).
 */
export type Execution = "book" | "next_open";

export interface EngineOptions {
  initialCash: number;
  fill: FillModelOptions;
  execution: Execution;
  sizing: Sizing;
  /** First bar that may trade and whose equity is recorded (default 0). */
  startIndex?: number;
  book?: BookOptions;
  onProgress?: (done: number, total: number) => void;
  /**
   * Bars between progress calls (default: a tenth of the run). Called with 0 before the first bar,
   * every `progressEvery` bars, and with n after the last: at most 11 calls for the default.
   */
  progressEvery?: number;
  /** The kernel's protections (triple barrier, cooldown, drawdown lock); none by default. */
  protections?: Protections;
  /** Kelly sizing from the strategy's own rolling statistics; default: `sizing.fraction` fixed. */
  kernelSizing?: KernelSizing;
  /** Largest |position| notional (the risk limit). */
  maxNotional?: number;
  regimes?: readonly string[];
  /** The strategy id client order ids are derived from (default `backtest`). */
  strategyId?: string;
  onDecision?: (decision: Decision) => void;
}

export interface BacktestFill {
  /** Number of the target change the fill serves (orders chasing the same target share it). */
  order: number;
  /** Index of the bar the fill happened on (book: its close; next_open: its open). */
  bar: number;
  ts: number;
  side: Side;
  amount: number;
  price: number;
  fee: number;
  liquidity: "maker" | "taker";
  /** The kernel's client order id of the order (the id the live host sends to the exchange). */
  clientOrderId: string;
}

export type Trade = ClosedTrade;
export interface EngineRun {
  startIndex: number;
  /** Equity at the close of bars startIndex…n−1. */
  equity: Float64Array;
  fills: BacktestFill[];
  /** Closed round trips. */
  trades: Trade[];
  /** The round trip still open at the end (marked at the last close), if any. */
  openTrade?: Trade;
  /** Bars (from startIndex) that ended with a non-zero position. */
  exposureBars: number;
  tradedNotional: number;
  totalFees: number;
  finalCash: number;
  finalPosition: number;
  /** Target changes that led to orders. */
  orders: number;
}

/**
 * The engine's progress calls (see {@link EngineOptions.onProgress}): reports 0 at once, then is
 * called after each bar with the bars done and reports every `progressEvery` of them and the last.
 */
function progressTicker(
  n: number,
  options: Pick<EngineOptions, "onProgress" | "progressEvery">,
): (done: number) => void {
  const report = options.onProgress;
  if (report === undefined) return () => undefined;
  const every = Math.max(1, options.progressEvery ?? Math.ceil(n / 10));
  report(0, n);
  return (done) => {
    if (done % every === 0 || done === n) report(done, n);
  };
}

export function runEngine(candles: readonly Candle[], strategy: Strategy, options: EngineOptions): EngineRun {
  const n = candles.length;
  const start = Math.min(Math.max(0, options.startIndex ?? 0), n);
  const fillOptions = options.fill;
  const bookFill: FillModelOptions = { ...fillOptions, phase: "arrival" };
  const nextOpen = options.execution === "next_open";
  const equity = new Float64Array(n - start);
  const fills: BacktestFill[] = [];
  const trades: Trade[] = [];
  const progress = progressTicker(n, options);
  const barMs = n > 0 ? timeframeMs[(candles[0] as Candle).timeframe] : 0;
  const symbol = n > 0 ? (candles[0] as Candle).symbol : "";
  const kernel = new StrategyKernel(
    strategy,
    {
      strategyId: options.strategyId ?? "backtest",
      symbol,
      capital: options.initialCash,
      sizing: options.kernelSizing ?? { kind: "fixed", fraction: options.sizing.fraction },
      amountStep: options.sizing.amountStep,
      maxNotional: options.maxNotional,
      protections: options.protections,
      startIndex: start,
      regimes: options.regimes,
    },
    {
      onTrade: (t) => {
        trades.push(t);
      },
      ...(options.onDecision !== undefined ? { onDecision: options.onDecision } : {}),
    },
  );
  const book = kernel.book;
  const dustNotional = options.initialCash * 1e-9;
  let exposureBars = 0;
  let tradedNotional = 0;
  let totalFees = 0;
  /** The order decided on the previous bar, waiting for the next bar's open (next_open). */
  let pending: PlaceOrder | undefined;

  const applyFills = (outcome: FillOutcome, cmd: PlaceOrder, bar: number, ts: number) => {
    for (const f of outcome.fills) {
      const fee = f.fee.cost;
      fills.push({
        order: book.orderSeq,
        bar,
        ts,
        side: cmd.side,
        amount: f.amount,
        price: f.price,
        fee,
        liquidity: f.liquidity,
        clientOrderId: cmd.clientOrderId,
      });
      tradedNotional += f.amount * f.price;
      totalFees += fee;
      kernel.onFill({ side: cmd.side, amount: f.amount, price: f.price, fee, timestamp: ts }, bar);
    }
    kernel.onOrderDone(cmd.clientOrderId, outcome.remaining > 0 ? "expired" : "filled");
  };

  for (let i = 0; i < n; i++) {
    const c = candles[i] as Candle;
    if (pending !== undefined) {
      const order: WorkingOrder = {
        symbol: c.symbol,
        side: pending.side,
        type: "market",
        amount: pending.amount,
      };
      applyFills(fillAgainstCandle(order, c, fillOptions), pending, i, c.ts);
      pending = undefined;
    }
    const commands = kernel.onCandle(c, barMs);
    for (const cmd of commands) {
      if (nextOpen) {
        pending = cmd;
      } else {
        const order: WorkingOrder = { symbol: c.symbol, side: cmd.side, type: "market", amount: cmd.amount };
        const ob = bookFromCandle(c, options.book);
        applyFills(fillAgainstBook(order, ob, bookFill), cmd, i, c.ts + barMs);
      }
    }
    if (i >= start) {
      const pos = book.pos;
      equity[i - start] = book.cash + pos * c.close;
      if (Math.abs(pos * c.close) > dustNotional) exposureBars++;
    }
    progress(i + 1);
  }

  const last = candles[n - 1];
  const run: EngineRun = {
    startIndex: start,
    equity,
    fills,
    trades,
    exposureBars,
    tradedNotional,
    totalFees,
    finalCash: book.cash,
    finalPosition: book.pos,
    orders: book.orderSeq,
  };
  if (book.open !== undefined && last !== undefined)
    run.openTrade = closeTrade(book.open, n - 1, last.ts + barMs, last.close);
  return run;
}
