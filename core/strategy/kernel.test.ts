import { describe, expect, it } from "vitest";
import type { Candle } from "../domain/market.ts";
import {
  type Command,
  type Decision,
  decisionOrderId,
  emptyBook,
  type KernelParams,
  StrategyKernel,
} from "./kernel.ts";
import type { Strategy } from "./strategy.ts";

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);
const candle = (i: number, close: number): Candle => ({
  venue: "paper",
  symbol: "BTC/USDT",
  timeframe: "1m",
  ts: T0 + i * MIN,
  open: close,
  high: close,
  low: close,
  close,
  volume: 1,
});
/** A strategy that says what it is told, bar by bar (undefined: keep). */
const scripted = (targets: (number | undefined)[]): Strategy => ({
  name: "script",
  warmup: 0,
  onBar: (_b, i) => targets[i],
});

/** Drives a kernel over closes; every order fills at the bar's close with no fee (a venue written out by hand). */
function drive(closes: number[], targets: (number | undefined)[], params: Partial<KernelParams> = {}) {
  const decisions: Decision[] = [];
  const trades: { pnl: number; return: number }[] = [];
  const k = new StrategyKernel(
    scripted(targets),
    {
      strategyId: "s1",
      symbol: "BTC/USDT",
      capital: 1_000,
      sizing: { kind: "fixed", fraction: 1 },
      ...params,
    },
    { onDecision: (d) => decisions.push(d), onTrade: (t) => trades.push(t) },
  );
  const orders: (Command & { bar: number })[] = [];
  closes.forEach((close, i) => {
    const c = candle(i, close);
    for (const cmd of k.onCandle(c, MIN)) {
      orders.push({ ...cmd, bar: i });
      k.onFill({ side: cmd.side, amount: cmd.amount, price: close, fee: 0, timestamp: c.ts + MIN }, i);
      k.onOrderDone(cmd.clientOrderId, "filled");
    }
  });
  return { k, orders, decisions, trades };
}

describe("strategy kernel", () => {
  it("sizes a target against equity at the close and derives the client order id from the decision", () => {
    const { orders } = drive([100, 100], [1]);
    expect(orders).toHaveLength(1);
    expect(orders[0]).toMatchObject({ side: "buy", amount: 10, reason: "signal" }); // 1 × 1 000 / 100
    const id = decisionOrderId("s1", "BTC/USDT", T0, "signal");
    expect(orders[0]?.clientOrderId).toBe(id);
    expect(id).toMatch(/^[A-Za-z0-9._:-]{1,36}$/); // the exchange's client order id rule
    expect(decisionOrderId("s2", "BTC/USDT", T0, "signal")).not.toBe(id);
    expect(decisionOrderId("s1", "ETH/USDT", T0, "signal")).not.toBe(id);
    expect(decisionOrderId("s1", "BTC/USDT", T0 + MIN, "signal")).not.toBe(id);
  });

  it("places no second order for a candle processed twice, nor for a bar already decided before a restart", () => {
    const k = new StrategyKernel(scripted([1, 1, 1]), {
      strategyId: "s1",
      symbol: "BTC/USDT",
      capital: 1_000,
      sizing: { kind: "fixed", fraction: 1 },
    });
    const c = candle(0, 100);
    expect(k.onCandle(c, MIN)).toHaveLength(1);
    expect(k.onCandle(c, MIN)).toHaveLength(0);
    // A restart: the stored book says bar 0 was decided (order in flight); the replayed bar 0 only warms up.
    const restored = new StrategyKernel(
      scripted([1, 1]),
      { strategyId: "s1", symbol: "BTC/USDT", capital: 1_000, sizing: { kind: "fixed", fraction: 1 } },
      {},
      structuredClone(k.book),
    );
    expect(restored.onCandle(c, MIN)).toHaveLength(0);
    // The in-flight order blocks a new one until it settles; then the next bar chases the target.
    expect(restored.onCandle(candle(1, 100), MIN)).toHaveLength(0);
    restored.onOrderDone(k.book.inFlight as string, "expired");
    const chase = restored.onCandle(candle(2, 100), MIN);
    expect(chase).toHaveLength(1);
    expect(chase[0]?.reason).toBe("chase");
  });

  it("applies a fill once by id, remembers the last 256 ids, and follows a book replaced at a restore", () => {
    const params = {
      strategyId: "s1",
      symbol: "BTC/USDT",
      capital: 1_000,
      sizing: { kind: "fixed", fraction: 1 },
    } as const;
    const k = new StrategyKernel(scripted([]), params);
    const fill = (id: string) => ({ id, side: "buy" as const, amount: 1, price: 1, fee: 0, timestamp: T0 });
    k.onFill(fill("f0"));
    k.onFill(fill("f0"));
    expect(k.book.cash).toBe(999); // once
    for (let i = 1; i <= 256; i++) k.onFill(fill(`f${i}`));
    expect(k.book.cash).toBe(743);
    expect(k.book.seenFills).toHaveLength(256);
    expect(k.hasSeenFill("f0")).toBe(false); // forgotten: the oldest of 257
    expect(k.hasSeenFill("f1")).toBe(true);
    expect(k.hasSeenFill("f256")).toBe(true);
    k.onFill(fill("f256"));
    expect(k.book.cash).toBe(743);
    // A restored book (another list): its ids count, the old ones no longer do.
    k.book = { ...structuredClone(k.book), seenFills: ["r1"] };
    expect(k.hasSeenFill("r1")).toBe(true);
    expect(k.hasSeenFill("f256")).toBe(false);
    k.onFill(fill("r1"));
    expect(k.book.cash).toBe(743);
    // The same list changed in place elsewhere is noticed too.
    k.book.seenFills.push("r2");
    expect(k.hasSeenFill("r2")).toBe(true);
  });

  it("stop loss: exits at the first close 2 % under the entry and waits for the signal to change", () => {
    // Entry at 100; 99 (−1 %) holds; 97.9 (−2.1 %) stops out; the strategy still says long: no re-entry
    // until it says flat (bar 5), then long again (bar 6).
    const { orders, decisions, trades } = drive([100, 99, 97.9, 99, 100, 100, 100], [1, 1, 1, 1, 1, 0, 1], {
      protections: { stopLoss: 0.02 },
    });
    expect(orders.map((o) => [o.bar, o.side, o.reason])).toEqual([
      [0, "buy", "signal"],
      [2, "sell", "stop_loss"],
      [6, "buy", "signal"],
    ]);
    expect(decisions.find((d) => d.reason === "stop_loss")?.clientOrderId).toBe(
      decisionOrderId("s1", "BTC/USDT", T0 + 2 * MIN, "stop_loss"),
    );
    expect(trades[0]?.pnl).toBeCloseTo(10 * (97.9 - 100), 9);
  });

  it("take profit, trailing stop and time limit close the position (the triple barrier)", () => {
    const tp = drive([100, 102, 103.1], [1], { protections: { takeProfit: 0.03 } });
    expect(tp.orders.map((o) => [o.bar, o.reason])).toEqual([
      [0, "signal"],
      [2, "take_profit"],
    ]);
    // Best close 110, then 107.7 is 2.09 % below it (≥ 2 %): trailing stop; 108 (1.8 %) would not be.
    const trail = drive([100, 105, 110, 108, 107.7], [1], { protections: { trailingStop: 0.02 } });
    expect(trail.orders.map((o) => [o.bar, o.reason])).toEqual([
      [0, "signal"],
      [4, "trailing_stop"],
    ]);
    // Entered at bar 0's close (T0 + 1 min); at bar 2's close (T0 + 3 min) it has been held 2 min.
    const time = drive([100, 100, 100, 100], [1], { protections: { timeLimitMs: 2 * MIN } });
    expect(time.orders.map((o) => [o.bar, o.reason])).toEqual([
      [0, "signal"],
      [2, "time_limit"],
    ]);
  });

  it("cooldown after a loss: an entry inside the cooldown is refused with its reason", () => {
    // Stop out at bar 1 (a loss, filled at T0 + 2 min): no entry until T0 + 5 min. The signal turns
    // long again at bar 3 (closing at T0 + 4 min): refused; still long at bar 4 (closing at T0 + 5 min): entered.
    const { orders, decisions } = drive([100, 97, 97, 97, 97], [1, 1, 0, 1, 1], {
      protections: { stopLoss: 0.02, cooldownMs: 3 * MIN },
    });
    expect(orders.map((o) => [o.bar, o.reason])).toEqual([
      [0, "signal"],
      [1, "stop_loss"],
      [4, "signal"],
    ]);
    expect(decisions.filter((d) => d.reason === "cooldown").map((d) => d.ts)).toEqual([T0 + 3 * MIN]);
  });

  it("max-drawdown lock: flattens at the limit and refuses entries until unlocked", () => {
    // Equity 1 000 at 100; at 89 it is 890: an 11 % drawdown ≥ 10 % → flatten and lock.
    const { k, orders, decisions } = drive([100, 95, 89, 90, 91, 92], [1, 1, 1, 0, 1, 1], {
      protections: { maxDrawdown: 0.1 },
    });
    expect(orders.map((o) => [o.bar, o.side, o.reason])).toEqual([
      [0, "buy", "signal"],
      [2, "sell", "drawdown_lock"],
    ]);
    expect(k.book.locked).toBe(true);
    expect(k.book.maxDrawdown).toBeCloseTo(0.11, 12);
    expect(decisions.filter((d) => d.reason === "drawdown_lock")).toHaveLength(1);
  });

  it("Kelly from its own rolling statistics after minTrades trades, the fixed fraction before", () => {
    // Four round trips of +10 %, −5 %, +10 %, −5 % (enter at 100, exit at 110 or 95), then a fifth entry.
    const closes: number[] = [];
    const targets: number[] = [];
    for (const exit of [110, 95, 110, 95]) {
      closes.push(100, exit);
      targets.push(1, 0);
    }
    closes.push(100);
    targets.push(1);
    const sizing = {
      kind: "kelly" as const,
      fraction: 0.5,
      minTrades: 4,
      window: 10,
      multiplier: 0.5,
      maxFraction: 1,
      floor: 0.05,
    };
    const { k, orders, trades } = drive(closes, targets, { sizing });
    expect(trades.map((t) => Math.round(t.return * 1e9) / 1e9)).toEqual([0.1, -0.05, 0.1, -0.05]);
    // The first entry uses the fixed 0.5: 0.5 × 1 000 / 100 = 5 units.
    expect(orders[0]?.amount).toBeCloseTo(5, 12);
    // p = 0.5, w = 0.1, l = −0.05: full Kelly = p/|l| − q/w = 10 − 5 = 5; half = 2.5 → capped at 1.
    expect(k.fraction()).toBe(1);
    // So the fifth entry puts all equity on: the cash left is (float) zero.
    const last = orders[orders.length - 1];
    expect(last?.amount).toBe(k.book.pos);
    expect(k.book.cash).toBeCloseTo(0, 9);
    // A smaller edge: p = 0.5, w = 0.01, l = −0.008 → full = 62.5 − 50 = 12.5 → half 6.25 → cap 1;
    // with maxFraction 0.3 and multiplier 0.02: 12.5 × 0.02 = 0.25 (under the cap).
    const k2 = new StrategyKernel(
      scripted([]),
      {
        strategyId: "s1",
        symbol: "BTC/USDT",
        capital: 1_000,
        sizing: { ...sizing, multiplier: 0.02, maxFraction: 0.3 },
      },
      {},
      { ...emptyBook(1_000), trades: 4, returns: [0.01, -0.008, 0.01, -0.008] },
    );
    expect(k2.fraction()).toBeCloseTo(0.25, 12);
  });

  it("caps the position notional at the risk limit", () => {
    const { orders } = drive([100, 100], [1], { maxNotional: 300 });
    expect(orders[0]?.amount).toBeCloseTo(3, 12);
  });

  it("books cash and position exactly as the paper venue does (fees in quote)", () => {
    const k = new StrategyKernel(scripted([1]), {
      strategyId: "s1",
      symbol: "BTC/USDT",
      capital: 1_000,
      sizing: { kind: "fixed", fraction: 0.5 },
    });
    const [cmd] = k.onCandle(candle(0, 100), MIN);
    k.onFill({ id: "f1", side: "buy", amount: 5, price: 100.5, fee: 0.5025, timestamp: T0 + MIN });
    k.onFill({ id: "f1", side: "buy", amount: 5, price: 100.5, fee: 0.5025, timestamp: T0 + MIN }); // replayed
    k.onOrderDone(cmd?.clientOrderId as string, "filled");
    expect(k.book.pos).toBe(5);
    expect(k.book.cash).toBe(1_000 - 5 * 100.5 - 0.5025);
    expect(k.book.working).toBe(false);
  });
});
