import { describe, expect, it } from "vitest";
import type { Candle, OrderBook } from "../domain/market.ts";
import { DEFAULT_FEES } from "../execution/fees.ts";
import { fillAgainstBook } from "../execution/fill-model.ts";
import { bookFromCandle, createMarketSimulator } from "../market/simulator.ts";
import { desiredPosition, orderToward } from "../strategy/orders.ts";
import { createStrategy, StrategySpec } from "../strategy/spec.ts";
import { runEngine } from "./engine.ts";

/**
 * Backtest ↔ paper parity against the shared fill model. The "paper" side below is written the way the
 * live path is wired, not the way the engine loops: a feed draws bars from the simulator and, per bar,
 * installs the book the paper venue derives from it and emits `candle.closed`; a strategy runner reacts
 * to the event, sizes with the shared rule and sends a market order; the venue fills it against its
 * current book with the shared fill model and emits fills; the runner's position and cash change only
 * on fill events. Events travel through an async queue, as over the bus. Same strategy, same data →
 * the same fills, to the last bit.
 */
type Event =
  | { type: "candle.closed"; candle: Candle }
  | { type: "order.submitted"; side: "buy" | "sell"; amount: number; symbol: string; ts: number }
  | { type: "fill.executed"; side: "buy" | "sell"; amount: number; price: number; fee: number; ts: number };

async function paperSession(specInput: unknown, bars: number, seed: number) {
  const spec = StrategySpec.parse(specInput);
  const sim = createMarketSimulator({ seed, timeframe: "1m" });
  const queue: Event[] = [];
  const fills: { side: string; amount: number; price: number; fee: number; ts: number }[] = [];
  let book: OrderBook | undefined;
  // Strategy runner state (updated from fill events only).
  const strategy = createStrategy(spec);
  let cash = 10_000;
  let pos = 0;
  let target = 0;
  let desired = 0;
  let index = 0;

  const venue = (e: Extract<Event, { type: "order.submitted" }>) => {
    const outcome = fillAgainstBook(
      { symbol: e.symbol, side: e.side, type: "market", amount: e.amount },
      book as OrderBook,
      { fees: DEFAULT_FEES, slippageBps: 0, phase: "arrival" },
    );
    for (const f of outcome.fills)
      queue.push({
        type: "fill.executed",
        side: e.side,
        amount: f.amount,
        price: f.price,
        fee: f.fee.cost,
        ts: e.ts,
      });
  };
  const runner = (e: Extract<Event, { type: "candle.closed" }>) => {
    const c = e.candle;
    const t = strategy.onBar(c, index++);
    if (t !== undefined && t !== target) {
      target = t;
      desired = desiredPosition(target, cash + pos * c.close, c.close, { fraction: 1 });
    }
    const intent = orderToward(pos, desired);
    if (intent !== undefined)
      queue.push({ type: "order.submitted", ...intent, symbol: c.symbol, ts: (book as OrderBook).timestamp });
  };

  for (let i = 0; i < bars; i++) {
    const { candle } = sim.next();
    book = bookFromCandle(candle);
    queue.push({ type: "candle.closed", candle });
    while (queue.length > 0) {
      const e = queue.shift() as Event;
      await Promise.resolve(); // delivery is asynchronous, as over the bus
      if (e.type === "candle.closed") runner(e);
      else if (e.type === "order.submitted") venue(e);
      else {
        fills.push({ side: e.side, amount: e.amount, price: e.price, fee: e.fee, ts: e.ts });
        const sign = e.side === "buy" ? 1 : -1;
        cash = cash - sign * e.amount * e.price - e.fee;
        pos += sign * e.amount;
      }
    }
  }
  return { fills, cash, pos };
}

describe("backtest ↔ paper parity (shared fill model)", () => {
  for (const strategy of [
    { kind: "ma_crossover", fast: 8, slow: 34, allowShort: true },
    { kind: "bollinger", period: 30, stdDevs: 1.5, allowShort: true },
    { kind: "momentum", lookback: 15, threshold: 0.001 },
  ]) {
    it(`${strategy.kind}: same trades and fills`, async () => {
      const bars = 3_000;
      const paper = await paperSession(strategy, bars, 77);
      const sim = createMarketSimulator({ seed: 77, timeframe: "1m" });
      const candles = Array.from({ length: bars }, () => sim.next().candle);
      const run = runEngine(candles, createStrategy(StrategySpec.parse(strategy)), {
        initialCash: 10_000,
        fill: { fees: DEFAULT_FEES, slippageBps: 0 },
        execution: "book",
        sizing: { fraction: 1 },
      });
      expect(paper.fills.length).toBeGreaterThan(10);
      expect(run.fills.map(({ side, amount, price, fee, ts }) => ({ side, amount, price, fee, ts }))).toEqual(
        paper.fills,
      );
      expect(run.finalCash).toBe(paper.cash);
      expect(run.finalPosition).toBe(paper.pos);
    });
  }
});
