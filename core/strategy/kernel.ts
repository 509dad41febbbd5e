import type { Candle } from "../domain/market.ts";
import type { Side } from "../domain/trading.ts";
import { kelly } from "../risk/kelly.ts";
import { orderToward } from "./orders.ts";
import type { Strategy } from "./strategy.ts";

/**
 * The strategy kernel: the one decision machine the backtester and the live strategy agent share.
 *
 *   (state, event) → commands
 *
 * Events are a closed candle, a model signal or regime, a fill, an order update, and a timer tick.
 * Commands are market orders toward a target. The kernel does no I/O and reads no clock of its own:
 * time comes from the events (a candle's close time, a fill's timestamp) or from the clock port a host
 * passes in (timer ticks). Its book (cash, position, the open round trip, trade statistics, protection
 * state) is a plain object ({@link KernelBook}) a host can store and restore; indicator state lives in
 * the strategy and is rebuilt by replaying candles (decisions are idempotent: a client order id is
 * derived from the strategy, the symbol, the bar and the action, so a replayed bar places no second order).
 *
 * Per closed candle, in this order:
 *   1. the strategy is fed the candle and may name a new target in [-1, 1];
 *   2. (bars from `startIndex` on) protections: the max-drawdown lock (equity marked at the close vs
 *      its peak), then the triple barrier of the open position — stop loss, take profit, trailing stop
 *      (all relative to the entry price, judged on the close) and the time limit; a hit exits (target 0)
 *      and the strategy's signal must change before it may enter again; a cooldown follows a losing trade;
 *   3. a new target is sized: desired = target × fraction × equity / close, the fraction fixed, or
 *      Kelly from the strategy's own rolling win/loss statistics once it has `minTrades` trades; the
 *      notional is capped at `maxNotional` (the risk limit);
 *   4. while the position is not at the desired one and no order is in flight, one market order toward it.
 */

export interface Protections {
  /** Exit when the position has lost this fraction of its entry price (0.02 = 2 %). */
  readonly stopLoss?: number | undefined;
  /** Exit when the position has gained this fraction. */
  readonly takeProfit?: number | undefined;
  /** Exit when the price has retreated this fraction from the best close since entry. */
  readonly trailingStop?: number | undefined;
  /** Exit a position held this long (ms, from the entry fill's bar). */
  readonly timeLimitMs?: number | undefined;
  /** After a losing trade, no new entry for this long (ms). */
  readonly cooldownMs?: number | undefined;
  /** Flatten and lock when equity falls this fraction below its peak (0.2 = 20 %); a resume unlocks. */
  readonly maxDrawdown?: number | undefined;
}

export type KernelSizing =
  | { readonly kind: "fixed"; readonly fraction: number }
  | {
      readonly kind: "kelly";
      /** The fraction used until the strategy has `minTrades` closed trades. */
      readonly fraction: number;
      readonly minTrades: number;
      /** Trades in the rolling statistics. */
      readonly window: number;
      /** Fraction of full Kelly. */
      readonly multiplier: number;
      /** Largest fraction Kelly may size to. */
      readonly maxFraction: number;
      /** Smallest fraction (so a strategy without an edge keeps probing and its statistics keep updating). */
      readonly floor: number;
    };

export interface KernelParams {
  readonly strategyId: string;
  readonly symbol: string;
  /** The capital allocated to this strategy (quote currency): its starting cash. */
  readonly capital: number;
  readonly sizing: KernelSizing;
  /** Lot step: orders are rounded down to a multiple of it. */
  readonly amountStep?: number | undefined;
  /** Largest |position| notional (quote) the risk limits allow this strategy; sizing is capped at it. */
  readonly maxNotional?: number | undefined;
  readonly protections?: Protections | undefined;
  /** Bars (counted from the kernel's first) before this index only warm the strategy up. */
  readonly startIndex?: number | undefined;
  /** Entries are allowed only in these regimes (from the signals), when given. */
  readonly regimes?: readonly string[] | undefined;
}

/** Why the kernel did what it did. */
export type DecisionReason =
  | "signal"
  | "chase"
  | "stop_loss"
  | "take_profit"
  | "trailing_stop"
  | "time_limit"
  | "drawdown_lock"
  | "cooldown"
  | "regime"
  | "no_edge"
  | "rejected"
  | "flatten";

export const decisionReasons: readonly DecisionReason[] = [
  "signal",
  "chase",
  "stop_loss",
  "take_profit",
  "trailing_stop",
  "time_limit",
  "drawdown_lock",
  "cooldown",
  "regime",
  "no_edge",
  "rejected",
  "flatten",
];

export interface Decision {
  /** Bar open time (ms) the decision was made on (or the timer's time). */
  readonly ts: number;
  readonly reason: DecisionReason;
  readonly target: number;
  readonly desired: number;
  readonly detail?: string;
  readonly clientOrderId?: string;
  readonly side?: Side;
  readonly amount?: number;
}

export interface PlaceOrder {
  readonly kind: "place";
  readonly clientOrderId: string;
  readonly strategyId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: "market";
  readonly amount: number;
  readonly reason: DecisionReason;
}
export type Command = PlaceOrder;

export interface KernelFill {
  readonly id?: string | undefined;
  readonly clientOrderId?: string | undefined;
  readonly side: Side;
  readonly amount: number;
  readonly price: number;
  /** Fee in quote currency. */
  readonly fee: number;
  readonly timestamp: number;
}

export interface ClosedTrade {
  direction: "long" | "short";
  entryBar: number;
  exitBar: number;
  entryTs: number;
  exitTs: number;
  entryPrice: number;
  exitPrice: number;
  amount: number;
  fees: number;
  pnl: number;
  return: number;
}

/** The open round trip (volume-weighted entry, what has been closed so far). */
export interface OpenTrade {
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
  /** Best and worst close since entry (trailing stop). */
  best: number;
}

/** Everything the kernel knows besides the strategy's indicators: serialisable as JSON. */
export interface KernelBook {
  cash: number;
  pos: number;
  /** The strategy's latest opinion, and the effective target after protections. */
  raw: number;
  target: number;
  desired: number;
  working: boolean;
  orderSeq: number;
  bars: number;
  lastBarTs: number;
  mark: number;
  open: OpenTrade | undefined;
  /** Returns of the last closed trades (rolling window of the Kelly statistics). */
  returns: number[];
  trades: number;
  wins: number;
  realizedPnl: number;
  fees: number;
  peakEquity: number;
  maxDrawdown: number;
  locked: boolean;
  cooldownUntil: number;
  /** After a barrier exit: the raw target that must change before a re-entry (undefined: none). */
  blocked: number | undefined;
  /** The order in flight (live), by client order id. */
  inFlight: string | undefined;
  /** Fill ids applied for the orders still remembered (deduplication of replays). */
  seenFills: string[];
  regime: string | undefined;
}

export interface KernelHooks {
  /** A round trip closed. */
  onTrade?: (trade: ClosedTrade) => void;
  /** A decision was made (orders and suppressed entries). */
  onDecision?: (decision: Decision) => void;
}

const DUST = 1e-12;
const NONE: readonly Command[] = [];
const SEEN_FILLS = 256;

export function emptyBook(capital: number): KernelBook {
  return {
    cash: capital,
    pos: 0,
    raw: 0,
    target: 0,
    desired: 0,
    working: false,
    orderSeq: 0,
    bars: 0,
    lastBarTs: -1,
    mark: 0,
    open: undefined,
    returns: [],
    trades: 0,
    wins: 0,
    realizedPnl: 0,
    fees: 0,
    peakEquity: capital,
    maxDrawdown: 0,
    locked: false,
    cooldownUntil: 0,
    blocked: undefined,
    inFlight: undefined,
    seenFills: [],
    regime: undefined,
  };
}

/** 32-bit FNV-1a of a string, as 7 base-36 characters. */
function fnv(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36).padStart(7, "0");
}

/** Action codes of client order ids. */
const actionCode: Record<DecisionReason, string> = {
  signal: "sig",
  chase: "chs",
  stop_loss: "sl",
  take_profit: "tp",
  trailing_stop: "trl",
  time_limit: "tim",
  drawdown_lock: "dd",
  cooldown: "cd",
  regime: "rg",
  no_edge: "ne",
  rejected: "rj",
  flatten: "fl",
};

/**
 * The client order id of a decision: derived from the strategy and symbol (hashed), the bar and the
 * action, so the same decision always has the same id (≤ 36 characters, the exchange's limit).
 */
export function decisionOrderId(strategyId: string, symbol: string, barTs: number, reason: DecisionReason) {
  return `k${fnv(`${strategyId}|${symbol}`)}-${Math.max(0, Math.trunc(barTs)).toString(36)}-${actionCode[reason]}`;
}

export function closeTrade(t: OpenTrade, exitBar: number, exitTs: number, markPrice?: number): ClosedTrade {
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

export class StrategyKernel {
  book: KernelBook;
  params: KernelParams;
  private readonly hooks: KernelHooks;
  private readonly start: number;
  /** Probabilities of the latest signals by bar open time (ml_signal reads them through a SignalSource). */
  private readonly probs = new Map<number, number>();
  /** Bars fed to the strategy (indicator state, not persisted: rebuilt by replaying candles). */
  private fed = 0;
  private fedTs = -1;
  /** `book.seenFills` as a set (one lookup per fill, not a scan of up to 256 ids); rebuilt when the list is replaced. */
  private seen: { list: string[]; ids: Set<string> } | undefined;

  constructor(
    readonly strategy: Strategy,
    params: KernelParams,
    hooks: KernelHooks = {},
    book?: KernelBook,
  ) {
    if (!(params.capital > 0)) throw new RangeError(`capital must be positive, got ${params.capital}`);
    this.params = params;
    this.hooks = hooks;
    this.start = Math.max(0, params.startIndex ?? 0);
    this.book = book ?? emptyBook(params.capital);
  }

  /** Hot reload of the parameters that do not change the strategy's indicators. */
  reconfigure(params: KernelParams): void {
    this.params = params;
  }

  equity(price = this.book.mark): number {
    const b = this.book;
    return b.pos === 0 || !(price > 0) ? b.cash : b.cash + b.pos * price;
  }

  /** The probability of an up move the signals gave for a bar, if any (the live SignalSource). */
  probabilityAt(ts: number): number | undefined {
    return this.probs.get(ts);
  }

  onSignal(ts: number, probability: number, regime?: string): void {
    this.probs.set(ts, probability);
    if (this.probs.size > 64) {
      const first = this.probs.keys().next().value as number;
      this.probs.delete(first);
    }
    if (regime !== undefined) this.book.regime = regime;
  }

  onRegime(regime: string): void {
    this.book.regime = regime;
  }

  /**
   * A closed candle. `replay` candles (already processed before a restart) update the indicators and
   * marks but decide nothing. Returns the orders to place (usually none).
   */
  onCandle(c: Candle, barMs: number, replay = false): readonly Command[] {
    const b = this.book;
    if (c.ts <= this.fedTs) return NONE; // a duplicate or out-of-order bar
    this.fedTs = c.ts;
    const index = this.fed++;
    b.mark = c.close;
    // A bar at or before the last one decided (before a restart) only warms the indicators up.
    if (c.ts <= b.lastBarTs) replay = true;
    else {
      b.lastBarTs = c.ts;
      b.bars++;
    }
    const eq = b.cash + b.pos * c.close;
    if (eq > b.peakEquity) b.peakEquity = eq;
    else if (b.peakEquity > 0 && 1 - eq / b.peakEquity > b.maxDrawdown) b.maxDrawdown = 1 - eq / b.peakEquity;
    const t = this.strategy.onBar(c, index);
    if (replay) return NONE;
    if (t !== undefined) b.raw = t;
    if (index < this.start) {
      if (t !== undefined && index < this.start) b.target = t;
      return NONE;
    }
    let reason: DecisionReason = "signal";
    let next = b.target;
    let fresh = (t !== undefined && t !== b.target) || (index === this.start && (t ?? b.target) !== 0);
    if (t !== undefined) next = t;
    // Protections (skipped entirely when none are configured: the backtest's fast path).
    const p = this.params.protections;
    if (p !== undefined) {
      const barrier = this.barrier(c, barMs, p);
      if (barrier !== undefined) {
        reason = barrier;
        next = 0;
        fresh = b.target !== 0 || b.pos !== 0;
        if (barrier !== "drawdown_lock") b.blocked = b.raw;
      } else if (b.blocked !== undefined) {
        if (b.raw === b.blocked) {
          next = b.target;
          fresh = false;
        } else b.blocked = undefined;
      }
      if (b.locked && next !== 0) {
        next = 0;
        fresh = b.target !== 0;
        reason = "drawdown_lock";
      }
      if (fresh && next !== 0 && reason === "signal" && c.ts + barMs < b.cooldownUntil) {
        this.hooks.onDecision?.({
          ts: c.ts,
          reason: "cooldown",
          target: b.target,
          desired: b.desired,
          detail: `no entry until ${b.cooldownUntil}`,
        });
        return NONE;
      }
    }
    const regimes = this.params.regimes;
    if (fresh && next !== 0 && regimes !== undefined && !regimes.includes(b.regime ?? "")) {
      this.hooks.onDecision?.({
        ts: c.ts,
        reason: "regime",
        target: b.target,
        desired: b.desired,
        detail: `regime ${b.regime ?? "unknown"} is not one of ${regimes.join(", ")}`,
      });
      return NONE;
    }
    if (fresh) {
      b.target = next;
      b.desired = this.size(next, c.close);
      b.working = true;
      b.orderSeq++;
    } else if (b.working) reason = "chase";
    if (!b.working || b.inFlight !== undefined) return NONE;
    const intent = orderToward(b.pos, b.desired, this.params.amountStep);
    if (intent === undefined) {
      b.working = false;
      if (fresh && b.desired === 0 && next !== 0)
        this.hooks.onDecision?.({ ts: c.ts, reason: "no_edge", target: next, desired: 0 });
      return NONE;
    }
    return [this.place(c.ts, reason, intent.side, intent.amount)];
  }

  /** A timer tick at `now` (the host's clock port): the time barrier, when no candle comes. */
  onTimer(now: number, barMs: number): readonly Command[] {
    const b = this.book;
    const limit = this.params.protections?.timeLimitMs;
    if (limit === undefined || b.open === undefined || b.inFlight !== undefined) return NONE;
    if (now - b.open.entryTs < limit || b.target === 0) return NONE;
    b.blocked = b.raw;
    b.target = 0;
    b.desired = 0;
    b.working = true;
    b.orderSeq++;
    const intent = orderToward(b.pos, 0, this.params.amountStep);
    if (intent === undefined) {
      b.working = false;
      return NONE;
    }
    return [this.place(now - (now % barMs), "time_limit", intent.side, intent.amount)];
  }

  /** Flatten now (a stop with `flatten`): the order toward zero, if any. */
  flatten(now: number, barMs: number): readonly Command[] {
    const b = this.book;
    b.target = 0;
    b.desired = 0;
    b.working = true;
    b.orderSeq++;
    if (b.inFlight !== undefined) return NONE;
    const intent = orderToward(b.pos, 0, this.params.amountStep);
    if (intent === undefined) {
      b.working = false;
      return NONE;
    }
    return [this.place(now - (now % barMs), "flatten", intent.side, intent.amount)];
  }

  private place(barTs: number, reason: DecisionReason, side: Side, amount: number): PlaceOrder {
    const b = this.book;
    const { strategyId, symbol } = this.params;
    const clientOrderId = decisionOrderId(strategyId, symbol, barTs, reason);
    b.inFlight = clientOrderId;
    this.hooks.onDecision?.({
      ts: barTs,
      reason,
      target: b.target,
      desired: b.desired,
      clientOrderId,
      side,
      amount,
    });
    return { kind: "place", clientOrderId, strategyId, symbol, side, type: "market", amount, reason };
  }

  private barrier(c: Candle, barMs: number, p: Protections): DecisionReason | undefined {
    const b = this.book;
    const dd = b.peakEquity > 0 ? 1 - (b.cash + b.pos * c.close) / b.peakEquity : 0;
    if (p.maxDrawdown !== undefined && !b.locked && dd >= p.maxDrawdown) {
      b.locked = true;
      return "drawdown_lock";
    }
    const o = b.open;
    if (o === undefined || b.target === 0) return undefined;
    if (o.dir === 1 ? c.close > o.best : c.close < o.best) o.best = c.close;
    const move = (o.dir * (c.close - o.avgEntry)) / o.avgEntry;
    if (p.stopLoss !== undefined && move <= -p.stopLoss) return "stop_loss";
    if (p.takeProfit !== undefined && move >= p.takeProfit) return "take_profit";
    if (p.trailingStop !== undefined && (o.dir * (o.best - c.close)) / o.best >= p.trailingStop)
      return "trailing_stop";
    if (p.timeLimitMs !== undefined && c.ts + barMs - o.entryTs >= p.timeLimitMs) return "time_limit";
    return undefined;
  }

  /** The fraction of equity a full position takes now: fixed, or Kelly from the rolling statistics. */
  fraction(): number {
    const s = this.params.sizing;
    if (s.kind === "fixed") return s.fraction;
    const r = this.book.returns;
    if (this.book.trades < s.minTrades || r.length === 0) return s.fraction;
    let wins = 0;
    let winSum = 0;
    let lossSum = 0;
    for (const x of r) {
      if (x > 0) {
        wins++;
        winSum += x;
      } else lossSum += x;
    }
    const losses = r.length - wins;
    if (wins === 0) return s.floor;
    if (losses === 0 || lossSum === 0) return s.maxFraction;
    const k = kelly({
      winProbability: wins / r.length,
      winReturn: winSum / wins,
      lossReturn: lossSum / losses,
      multiplier: s.multiplier,
      maxPositionSize: s.maxFraction,
    });
    return Math.max(s.floor, k.positionSize);
  }

  private size(target: number, price: number): number {
    const equity = this.book.cash + this.book.pos * price;
    if (!(price > 0) || !(equity > 0)) return 0;
    let desired = (target * this.fraction() * equity) / price;
    const cap = this.params.maxNotional;
    if (cap !== undefined && Math.abs(desired) * price > cap) desired = (Math.sign(desired) * cap) / price;
    return desired;
  }

  /** An order reached a terminal state (filled, rejected, expired, canceled) or failed to be placed. */
  onOrderDone(clientOrderId: string, status: string, reason?: string, ts = this.book.lastBarTs): void {
    const b = this.book;
    if (b.inFlight !== clientOrderId) return;
    b.inFlight = undefined;
    if (status === "rejected") {
      b.working = false;
      this.hooks.onDecision?.({
        ts,
        reason: "rejected",
        target: b.target,
        desired: b.desired,
        clientOrderId,
        ...(reason !== undefined ? { detail: reason } : {}),
      });
    }
  }

  /** True when the fill `id` was applied already (among the last {@link SEEN_FILLS} remembered). */
  hasSeenFill(id: string): boolean {
    return this.seenIds().has(id);
  }

  private seenIds(): Set<string> {
    const list = this.book.seenFills;
    // The ids in the list are distinct, so a set of another size is stale (the list was changed elsewhere).
    if (this.seen === undefined || this.seen.list !== list || this.seen.ids.size !== list.length)
      this.seen = { list, ids: new Set(list) };
    return this.seen.ids;
  }

  /** Records a fill id; false when it was applied already. */
  private rememberFill(id: string): boolean {
    const b = this.book;
    const ids = this.seenIds();
    if (ids.has(id)) return false;
    b.seenFills.push(id);
    ids.add(id);
    // shift(), not splice(): V8 trims the front in place instead of copying the kept ids.
    while (b.seenFills.length > SEEN_FILLS) ids.delete(b.seenFills.shift() as string);
    return true;
  }

  /** A fill of one of this strategy's orders; replays of a fill already applied are ignored. */
  onFill(f: KernelFill, bar = this.fed - 1): void {
    const b = this.book;
    if (f.id !== undefined && !this.rememberFill(f.id)) return;
    const sign = f.side === "buy" ? 1 : -1;
    const fee = f.fee;
    b.cash = b.cash - sign * f.amount * f.price - fee; // the paper venue's bookkeeping, operation for operation
    b.fees += fee;
    let left = f.amount;
    let leftFee = fee;
    let open = b.open;
    if (open !== undefined && open.dir !== sign) {
      const closeQty = Math.min(left, open.qty);
      const closeFee = (fee * closeQty) / f.amount;
      const gain = open.dir * (f.price - open.avgEntry) * closeQty;
      open.realized += gain;
      b.realizedPnl += gain - closeFee;
      open.exitNotional += f.price * closeQty;
      open.exitQty += closeQty;
      open.exitFees += closeFee;
      open.qty -= closeQty;
      left -= closeQty;
      leftFee -= closeFee;
      if (open.qty <= open.maxQty * DUST) {
        const trade = closeTrade(open, bar, f.timestamp);
        b.realizedPnl -= open.entryFees;
        this.recordTrade(trade, f.timestamp);
        open = undefined;
        b.open = undefined;
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
          entryTs: f.timestamp,
          entryFees: 0,
          realized: 0,
          exitNotional: 0,
          exitQty: 0,
          exitFees: 0,
          best: f.price,
        };
        b.open = open;
      }
      open.avgEntry = (open.avgEntry * open.qty + f.price * left) / (open.qty + left);
      open.qty += left;
      if (open.qty > open.maxQty) open.maxQty = open.qty;
      open.entryFees += leftFee;
    }
    b.pos += sign * f.amount;
    // Done when the position is within float dust of the target; the position itself is never rounded
    // (the venue's balance is not either), so both sides keep computing from the same numbers.
    if (Math.abs(b.pos - b.desired) <= Math.max(Math.abs(b.pos), Math.abs(b.desired)) * 1e-9)
      b.working = false;
  }

  private recordTrade(trade: ClosedTrade, ts: number): void {
    const b = this.book;
    b.trades++;
    if (trade.pnl > 0) b.wins++;
    const s = this.params.sizing;
    if (s.kind === "kelly") {
      b.returns.push(trade.return);
      if (b.returns.length > s.window) b.returns.splice(0, b.returns.length - s.window);
    }
    const cooldown = this.params.protections?.cooldownMs;
    if (cooldown !== undefined && trade.pnl < 0) b.cooldownUntil = ts + cooldown;
    this.hooks.onTrade?.(trade);
  }
}
