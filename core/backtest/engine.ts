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
import { desiredPosition, orderToward, type Sizing } from "../strategy/orders.ts";
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
  /** Bars between progress calls (default: a tenth of the run). */
  progressEvery?: number;
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
}

export interface Trade {
  direction: "long" | "short";
  entryBar: number;
  exitBar: number;
  entryTs: number;
  exitTs: number;
  /** Volume-weighted entry and exit prices. */
  entryPrice: number;
  exitPrice: number;
  /** Largest absolute size reached, base units. */
  amount: number;
  /** Entry and exit fees, quote. */
  fees: number;
  /** Net of fees, quote. */
  pnl: number;
  /** pnl / (entryPrice × amount). */
  return: number;
}

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

interface OpenTrade {
  dir: 1 | -1;
  qty: number;
  maxQty: number;
  avgEntry: number;
  entryBar: number;
  entryTs: number;
  entryFees: number;
  realized: number;
  exitNotional: number;
  exitQty: number;
  exitFees: number;
}

const DUST = 1e-12;

function closeTrade(t: OpenTrade, exitBar: number, exitTs: number, markPrice?: number): Trade {
  let realized = t.realized;
  let exitNotional = t.exitNotional;
  let exitQty = t.exitQty;
  if (markPrice !== undefined && t.qty > 0) {
    realized += t.dir * (markPrice - t.avgEntry) * t.qty;
    exitNotional += markPrice * t.qty;
    exitQty += t.qty;
  }
  const fees = t.entryFees + t.exitFees;
  const pnl = realized - fees;
  return {
    direction: t.dir === 1 ? "long" : "short",
    entryBar: t.entryBar,
    exitBar,
    entryTs: t.entryTs,
    exitTs,
    entryPrice: t.avgEntry,
    exitPrice: exitQty > 0 ? exitNotional / exitQty : t.avgEntry,
    amount: t.maxQty,
    fees,
    pnl,
    return: pnl / (t.avgEntry * t.maxQty),
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
  const progressEvery = Math.max(1, options.progressEvery ?? Math.ceil(n / 10));
  const onProgress = options.onProgress;
  const barMs = n > 0 ? timeframeMs[(candles[0] as Candle).timeframe] : 0;

  let cash = options.initialCash;
  const dustNotional = options.initialCash * 1e-9;
  let pos = 0;
  let target = 0;
  let desired = 0;
  let working = false;
  let orderSeq = 0;
  let exposureBars = 0;
  let tradedNotional = 0;
  let totalFees = 0;
  let open: OpenTrade | undefined;
  /** The order decided on the previous bar, waiting for the next bar's open (next_open). */
  let pending: WorkingOrder | undefined;

  const applyFills = (outcome: FillOutcome, side: Side, bar: number, ts: number) => {
    const sign = side === "buy" ? 1 : -1;
    for (const f of outcome.fills) {
      const fee = f.fee.cost;
      fills.push({
        order: orderSeq,
        bar,
        ts,
        side,
        amount: f.amount,
        price: f.price,
        fee,
        liquidity: f.liquidity,
      });
      cash = cash - sign * f.amount * f.price - fee; // the paper venue's bookkeeping, operation for operation
      tradedNotional += f.amount * f.price;
      totalFees += fee;
      let left = f.amount;
      let leftFee = fee;
      if (open !== undefined && open.dir !== sign) {
        const closeQty = Math.min(left, open.qty);
        const closeFee = (fee * closeQty) / f.amount;
        open.realized += open.dir * (f.price - open.avgEntry) * closeQty;
        open.exitNotional += f.price * closeQty;
        open.exitQty += closeQty;
        open.exitFees += closeFee;
        open.qty -= closeQty;
        left -= closeQty;
        leftFee -= closeFee;
        if (open.qty <= open.maxQty * DUST) {
          trades.push(closeTrade(open, bar, ts));
          open = undefined;
        }
      }
      if (left > f.amount * DUST) {
        if (open === undefined) {
          open = {
            dir: sign as 1 | -1,
            qty: 0,
            maxQty: 0,
            avgEntry: 0,
            entryBar: bar,
            entryTs: ts,
            entryFees: 0,
            realized: 0,
            exitNotional: 0,
            exitQty: 0,
            exitFees: 0,
          };
        }
        open.avgEntry = (open.avgEntry * open.qty + f.price * left) / (open.qty + left);
        open.qty += left;
        if (open.qty > open.maxQty) open.maxQty = open.qty;
        open.entryFees += leftFee;
      }
      pos += sign * f.amount;
    }
    // Done when the position is within float dust of the target; the position itself is never rounded
    // (the venue's balance is not either), so both sides keep computing from the same numbers.
    if (Math.abs(pos - desired) <= Math.max(Math.abs(pos), Math.abs(desired)) * 1e-9) working = false;
  };

  for (let i = 0; i < n; i++) {
    const c = candles[i] as Candle;
    if (pending !== undefined) {
      const outcome = fillAgainstCandle(pending, c, fillOptions);
      applyFills(outcome, pending.side, i, c.ts);
      pending = undefined;
    }
    const t = strategy.onBar(c, i);
    if (i >= start) {
      if ((t !== undefined && t !== target) || (i === start && (t ?? target) !== 0)) {
        target = t ?? target;
        desired = desiredPosition(target, cash + pos * c.close, c.close, options.sizing);
        working = true;
        orderSeq++;
      }
      if (working) {
        const intent = orderToward(pos, desired, options.sizing.amountStep);
        if (intent === undefined) {
          working = false;
        } else {
          const order: WorkingOrder = {
            symbol: c.symbol,
            side: intent.side,
            type: "market",
            amount: intent.amount,
          };
          if (nextOpen) {
            pending = order;
          } else {
            const book = bookFromCandle(c, options.book);
            applyFills(fillAgainstBook(order, book, bookFill), intent.side, i, c.ts + barMs);
          }
        }
      }
      equity[i - start] = cash + pos * c.close;
      if (Math.abs(pos * c.close) > dustNotional) exposureBars++;
    } else if (t !== undefined) {
      target = t;
    }
    if (onProgress !== undefined && (i + 1) % progressEvery === 0) onProgress(i + 1, n);
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
    finalCash: cash,
    finalPosition: pos,
    orders: orderSeq,
  };
  if (open !== undefined && last !== undefined)
    run.openTrade = closeTrade(open, n - 1, last.ts + barMs, last.close);
  return run;
}
