import { describe, expect, it } from "vitest";
import type { Candle } from "../domain/market.ts";
import { maCrossover } from "../strategy/ma-crossover.ts";
import type { Strategy } from "../strategy/strategy.ts";
import { runBacktest } from "./backtest.ts";
import { runEngine } from "./engine.ts";
import { decisions, findLookahead } from "./lookahead.ts";
import { BacktestSpec } from "./spec.ts";
import { simulateCandles } from "../market/simulator.ts";

const H = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);
/** [open, close, high, low]; volume is large so one book level absorbs every order. */
function bars(rows: [number, number, number, number][]): Candle[] {
  return rows.map(([open, close, high, low], i) => ({
    venue: "test",
    symbol: "BTC/USDT",
    timeframe: "1h",
    ts: T0 + i * H,
    open,
    high,
    low,
    close,
    volume: 1_000_000,
  }));
}

// Closes 100, 100, 110, 120, 115, 100, 100 → SMA(1) vs SMA(2): bar 2 crosses up (110 > 105),
// bar 4 crosses down (115 < 117.5). Bar 3 opens with a gap to 112, bar 5 opens at 114.
const scenario = bars([
  [100, 100, 101, 99],
  [100, 100, 101, 99],
  [100, 110, 111, 99],
  [112, 120, 121, 111],
  [120, 115, 121, 114],
  [114, 100, 115, 99],
  [100, 100, 101, 99],
]);
const fees = { maker: 0.001, taker: 0.001 };

describe("engine: hand-worked scenario", () => {
  it("next_open: buys 100 at bar 3's open (112), sells at bar 5's open (114); fees 0.1 %", () => {
    const run = runEngine(scenario, maCrossover({ fast: 1, slow: 2, allowShort: false }), {
      initialCash: 11_000,
      fill: { fees, slippageBps: 0 },
      execution: "next_open",
      sizing: { fraction: 1 },
    });
    // Decision on bar 2 at equity 11 000 and close 110 → desired 100 units.
    expect(run.fills.map((f) => [f.bar, f.side, f.amount, f.price])).toEqual([
      [3, "buy", 100, 112],
      [5, "sell", 100, 114],
    ]);
    expect(run.fills[0]?.fee).toBeCloseTo(11.2, 10);
    expect(run.fills[1]?.fee).toBeCloseTo(11.4, 10);
    expect(run.trades).toHaveLength(1);
    const t = run.trades[0];
    expect(t?.direction).toBe("long");
    expect(t?.entryPrice).toBe(112);
    expect(t?.exitPrice).toBe(114);
    expect(t?.fees).toBeCloseTo(22.6, 10);
    expect(t?.pnl).toBeCloseTo(200 - 22.6, 10); // 100 × (114 − 112) − fees
    // Equity at each close: flat, flat, flat (order pending), −211.2 + 100 × 120, … , 11 177.4.
    const expected = [11_000, 11_000, 11_000, 11_788.8, 11_288.8, 11_177.4, 11_177.4];
    expect(Array.from(run.equity).map((e) => Math.round(e * 1e6) / 1e6)).toEqual(expected);
    expect(run.exposureBars).toBe(2);
    expect(run.finalPosition).toBe(0);
  });

  it("book: fills at the decision bar's close against the derived book (ask = close + 2.5 % of the range)", () => {
    const run = runEngine(scenario, maCrossover({ fast: 1, slow: 2, allowShort: false }), {
      initialCash: 11_000,
      fill: { fees, slippageBps: 0 },
      execution: "book",
      sizing: { fraction: 1 },
    });
    // Bar 2: close 110, range 12 → spread 5 % × 12 = 0.6 → ask 110.3. Bar 4: close 115, range 7 → bid 114.825.
    expect(run.fills).toHaveLength(2);
    const [buy, sell] = run.fills;
    expect(buy?.bar).toBe(2);
    expect(buy?.ts).toBe(T0 + 3 * H);
    expect(buy?.amount).toBeCloseTo(100, 12);
    expect(buy?.price).toBeCloseTo(110.3, 10);
    expect(sell?.bar).toBe(4);
    expect(sell?.price).toBeCloseTo(114.825, 10);
    const t = run.trades[0];
    expect(t?.fees).toBeCloseTo(11.03 + 11.4825, 9);
    expect(t?.pnl).toBeCloseTo(100 * (114.825 - 110.3) - (11.03 + 11.4825), 9);
    expect(run.equity.at(-1)).toBeCloseTo(11_000 + 452.5 - 22.5125, 8);
  });

  it("shorts when allowed: flips long → short and accounts both round trips", () => {
    const run = runEngine(scenario, maCrossover({ fast: 1, slow: 2, allowShort: true }), {
      initialCash: 11_000,
      fill: { fees: { maker: 0, taker: 0 }, slippageBps: 0 },
      execution: "next_open",
      sizing: { fraction: 1 },
    });
    // Bar 4 decides −1 at equity −11 200 + 100 × 115 + 11 000 = 11 300 → desired −11 300 / 115 units.
    const short = 11_300 / 115;
    expect(run.fills.map((f) => [f.bar, f.side])).toEqual([
      [3, "buy"],
      [5, "sell"],
    ]);
    expect(run.fills[1]?.amount).toBeCloseTo(100 + short, 9);
    expect(run.trades[0]?.pnl).toBeCloseTo(200, 9);
    expect(run.openTrade?.direction).toBe("short");
    expect(run.openTrade?.entryPrice).toBe(114);
    // Marked at the last close 100: short × (114 − 100).
    expect(run.openTrade?.pnl).toBeCloseTo(short * 14, 8);
    expect(run.finalPosition).toBeCloseTo(-short, 9);
  });

  it("charges slippage against the order", () => {
    const run = runEngine(scenario, maCrossover({ fast: 1, slow: 2, allowShort: false }), {
      initialCash: 11_000,
      fill: { fees: { maker: 0, taker: 0 }, slippageBps: 10 },
      execution: "next_open",
      sizing: { fraction: 1 },
    });
    expect(run.fills[0]?.price).toBeCloseTo(112 * 1.001, 10);
    expect(run.fills[1]?.price).toBeCloseTo(114 * 0.999, 10);
  });
});

describe("look-ahead", () => {
  const candles = simulateCandles({ seed: 21, timeframe: "1h" }, 400);
  const checkpoints = [50, 120, 200, 399];

  it("finds none in the built-in strategies", () => {
    expect(
      findLookahead(() => maCrossover({ fast: 5, slow: 20, allowShort: true }), candles, checkpoints),
    ).toEqual([]);
  });

  it("catches a strategy that peeks one bar ahead", () => {
    const peeking = (visible: readonly Candle[]): Strategy => ({
      name: "peek",
      warmup: 1,
      onBar(bar, i) {
        const next = visible[i + 1];
        return next === undefined ? undefined : next.close > bar.close ? 1 : 0;
      },
    });
    const violations = findLookahead(peeking, candles, checkpoints);
    expect(violations.length).toBeGreaterThan(0);
    expect(violations.map((v) => v.bar)).toContain(50);
    // The cheat pays: it would look like a money machine without the check.
    const spec = BacktestSpec.parse({ strategy: { kind: "ma_crossover" }, fees: { maker: 0, taker: 0 } });
    const honest = runEngine(candles, maCrossover({ fast: 5, slow: 20, allowShort: false }), {
      initialCash: 10_000,
      fill: { fees: spec.fees, slippageBps: 0 },
      execution: "next_open",
      sizing: { fraction: 1 },
    });
    const cheat = runEngine(candles, peeking(candles), {
      initialCash: 10_000,
      fill: { fees: spec.fees, slippageBps: 0 },
      execution: "book",
      sizing: { fraction: 1 },
    });
    expect(cheat.equity.at(-1)).toBeGreaterThan(honest.equity.at(-1) as number);
    expect(decisions(peeking(candles), candles)[399]).toBeUndefined();
  });
});

describe("determinism", () => {
  it("the same seed gives the same result twice, another seed a different one", () => {
    const spec = (seed: number) =>
      BacktestSpec.parse({
        data: { source: "simulated", bars: 5_000, params: { seed, timeframe: "5m" } },
        strategy: { kind: "bollinger", allowShort: true },
      });
    const load = (seed: number) => simulateCandles({ seed, timeframe: "5m" }, 5_000);
    const a = runBacktest(spec(7), load(7));
    const b = runBacktest(spec(7), load(7));
    expect(b).toEqual(a);
    expect(a.metrics.trades).toBeGreaterThan(0);
    expect(runBacktest(spec(8), load(8)).metrics.finalEquity).not.toBe(a.metrics.finalEquity);
  });
});
