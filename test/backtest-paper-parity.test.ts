import { describe, expect, it } from "vitest";
import { runEngine } from "../core/backtest/engine.ts";
import type { Fill } from "../core/domain/trading.ts";
import { DEFAULT_FEES } from "../core/execution/fees.ts";
import { bookFromCandle, createMarketSimulator } from "../core/market/simulator.ts";
import { desiredPosition, orderToward } from "../core/strategy/orders.ts";
import { createStrategy, StrategySpec } from "../core/strategy/spec.ts";
import { PaperVenue } from "../hotpath/exchange/paper-venue.ts";

/**
 * Backtest ↔ paper venue parity: the exchange's PaperVenue (hotpath/exchange) is fed bars the way its
 * paper feed does (onCandle, then the book built around the bar, onBook); a strategy runner reacts to
 * each closed bar, sizes with the shared rule on the venue's balances and places market orders through
 * `placeOrder`. The backtest engine on the same bars must produce the same fills (price, amount, fee)
 * and end with the same cash and position, bit for bit. Spot, long-only (the venue is a spot account), 90 % of
 * equity so the venue's funds check (amount × best ask × (1 + taker)) passes.
 */
const SYMBOL = "BTC/USDT";
const sizing = { fraction: 0.9 };

async function paper(specInput: unknown, bars: number, seed: number) {
  const venue = new PaperVenue({ symbols: [SYMBOL], balances: { USDT: 10_000, BTC: 0 }, now: () => 0 });
  const sim = createMarketSimulator({ seed, timeframe: "1m", venue: "paper" });
  const strategy = createStrategy(StrategySpec.parse(specInput));
  const fills: Fill[] = [];
  let target = 0;
  let desired = 0;
  for (let i = 0; i < bars; i++) {
    const { candle } = sim.next();
    venue.onCandle(candle);
    venue.onBook(bookFromCandle(candle));
    const t = strategy.onBar(candle, i);
    const balances = venue.balancesNow();
    const cash = balances.USDT?.total ?? 0;
    const pos = balances.BTC?.total ?? 0;
    if (t !== undefined && t !== target) {
      target = t;
      desired = desiredPosition(target, cash + pos * candle.close, candle.close, sizing);
    }
    const intent = orderToward(pos, desired);
    if (intent === undefined) continue;
    const placed = await venue.placeOrder({
      clientOrderId: `bt-${i}`,
      account: "default",
      venue: "paper",
      symbol: SYMBOL,
      side: intent.side,
      type: "market",
      amount: intent.amount,
    });
    fills.push(...placed.fills);
  }
  const b = venue.balancesNow();
  return { fills, cash: b.USDT?.total ?? 0, pos: b.BTC?.total ?? 0 };
}

describe("backtest ↔ paper venue parity", () => {
  for (const strategy of [
    { kind: "ma_crossover", fast: 8, slow: 34 },
    { kind: "bollinger", period: 30, stdDevs: 1.5 },
    { kind: "momentum", lookback: 15, threshold: 0.001 },
  ]) {
    it(`${strategy.kind}: the same fills, cash and position`, async () => {
      const bars = 3_000;
      const venue = await paper(strategy, bars, 31);
      const sim = createMarketSimulator({ seed: 31, timeframe: "1m", venue: "paper" });
      const candles = Array.from({ length: bars }, () => sim.next().candle);
      const run = runEngine(candles, createStrategy(StrategySpec.parse(strategy)), {
        initialCash: 10_000,
        fill: { fees: DEFAULT_FEES, slippageBps: 0 },
        execution: "book",
        sizing,
      });
      expect(venue.fills.length).toBeGreaterThan(10);
      const project = (f: { side: string; amount: number; price: number }, fee: number) => ({
        side: f.side,
        amount: f.amount,
        price: f.price,
        fee,
      });
      expect(run.fills.map((f) => project(f, f.fee))).toEqual(venue.fills.map((f) => project(f, f.fee.cost)));
      // Bit for bit: the engine books fills with the venue's arithmetic.
      expect(run.finalCash).toBe(venue.cash);
      expect(run.finalPosition).toBe(venue.pos);
    });
  }
});
