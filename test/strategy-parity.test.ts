import { afterAll, describe, expect, it } from "vitest";
import { runEngine } from "../core/backtest/engine.ts";
import { ensureTopology } from "../adapters/nats/topology.ts";
import { callTool } from "../adapters/nats/tool-transport.ts";
import { loadConfig } from "../core/config.ts";
import { Candle } from "../core/domain/market.ts";
import { Fill, Order } from "../core/domain/trading.ts";
import { DEFAULT_FEES } from "../core/execution/fees.ts";
import { EventEnvelope } from "../core/protocol/envelope.ts";
import { createStrategy, StrategySpec } from "../core/strategy/spec.ts";
import { ProtectionsSpec } from "../core/strategy/kernel-spec.ts";
import { toSnake } from "../core/tools/snake.ts";
import { subjects } from "../core/subjects.ts";
import { quietLogger } from "../core/telemetry/log.ts";
import type { ExchangeRuntime } from "../hotpath/exchange/runtime.ts";
import { startExchange } from "../hotpath/exchange/service.ts";
import type { StrategyHost } from "../hotpath/strategy/host.ts";
import { riskCap, startStrategy } from "../hotpath/strategy/service.ts";
import { eventually, privateNats, testBus } from "./nats.ts";

/**
 * Backtest ↔ live parity on the one kernel. The live side is the real thing: the exchange service runs
 * its paper venue on the simulated market (its feed ticked by hand, one bar at a time), the strategy
 * agent reads each candle from MARKET, its kernels decide, and every order goes to the exchange's
 * submit_order over NATS (pre-trade check included); fills come back on the bus carrying the strategy
 * id. The backtest host (core/backtest/engine.ts) runs the same strategy, sizing and protections on the
 * candles the bus carried. Two strategies share one paper account with their own capital: each one's
 * orders (client order ids derived from its decisions) and fills must equal its own backtest's, bit for bit.
 */
const SYMBOL = "BTC/USDT";
const BARS = 400;
const STEP = 0.000001;
const strategies = [
  {
    id: "par-momentum",
    kind: "momentum",
    params: { lookback: 12, threshold: 0.0008 },
    capital: 4_500,
    protections: { stopLoss: 0.004, takeProfit: 0.006, trailingStop: 0.003 },
  },
  {
    id: "par-ma",
    kind: "ma_crossover",
    params: { fast: 4, slow: 11 },
    capital: 4_500,
    protections: { stopLoss: 0.003 },
  },
] as const;

describe("one kernel: backtest host ↔ live strategy agent driving the exchange over NATS", async () => {
  const nats = await privateNats();
  const bus = await testBus(nats.url);
  await ensureTopology(bus);
  const config = loadConfig({
    PAPER_SYMBOLS: SYMBOL,
    PAPER_BALANCES: "USDT:10000",
    PAPER_SLIPPAGE_BPS: "0",
    PAPER_SEED: "kernel-parity",
    MAX_POSITION_SIZE: "1",
    MAX_PORTFOLIO_RISK: "1",
    MAX_CORRELATION: "1",
    MAX_LEVERAGE: "10",
  });
  const candles: Candle[] = [];
  const fills: Fill[] = [];
  const orders: Order[] = [];
  const decoder = new TextDecoder();
  const data = (bytes: Uint8Array) => EventEnvelope.parse(JSON.parse(decoder.decode(bytes))).data;
  bus.nc.subscribe(subjects.market.of("paper", "candle", SYMBOL), {
    callback: (_e, m) => {
      candles.push(Candle.parse(data(m.data)));
    },
  });
  bus.nc.subscribe(subjects.trade.fill, {
    callback: (_e, m) => {
      fills.push(Fill.parse(data(m.data)));
    },
  });
  bus.nc.subscribe(subjects.trade.order("submitted"), {
    callback: (_e, m) => {
      orders.push(Order.parse(data(m.data)));
    },
  });
  await bus.nc.flush();

  let host: StrategyHost | undefined;
  const strategy = await startStrategy(
    { config, bus, logger: quietLogger("strategy") },
    { port: 0 },
    { defaultStrategy: "off", onHost: (h) => (host = h) },
  );
  for (const s of strategies) {
    await callTool(bus, "strategy", "create_strategy", {
      ...s,
      // The tool's wire names (the engine below takes the domain's camelCase protections).
      protections: toSnake(ProtectionsSpec, s.protections),
      symbols: [SYMBOL],
      sizing: { kind: "fixed", fraction: 0.9 },
      amount_step: STEP,
    });
  }
  let runtime: ExchangeRuntime | undefined;
  const exchange = await startExchange(
    { config, bus, logger: quietLogger("exchange") },
    { port: 0 },
    { feedTimer: false, onRuntime: (rt) => (runtime = rt) },
  );
  afterAll(async () => {
    await strategy.stop();
    await exchange.stop();
  });

  it("gives each strategy the orders and fills its backtest gives, and keeps their positions apart", async () => {
    const h = host as StrategyHost;
    const kernels = strategies.map((s) => h.get(s.id).kernels.get(SYMBOL));
    for (let i = 0; i < BARS; i++) {
      if (i > 0) runtime?.feed.tick();
      const candle = await eventually(() => candles[i], 5_000, `candle ${i} on the bus`);
      await eventually(
        () => kernels.every((k) => k?.book.lastBarTs === candle.ts),
        5_000,
        `both strategies to decide on candle ${i}`,
      );
      await h.settle();
    }
    const paperTick = runtime?.paper.market(SYMBOL)?.tickSize;
    expect(paperTick).toBeGreaterThan(0);
    for (const s of strategies) {
      const mine = fills.filter((f) => f.strategyId === s.id);
      const spec = StrategySpec.parse({ kind: s.kind, ...s.params });
      const run = runEngine(candles.slice(0, BARS), createStrategy(spec), {
        initialCash: s.capital,
        fill: { fees: DEFAULT_FEES, slippageBps: 0 },
        execution: "book",
        // The book the paper venue installs: built around the bar's close with its levels on the
        // paper market's tick, as the live fills are priced.
        book: { tickSize: paperTick },
        sizing: { fraction: 0.9, amountStep: STEP },
        strategyId: s.id,
        protections: s.protections,
        maxNotional: riskCap(config),
      });
      expect(run.fills.length).toBeGreaterThan(10);
      await eventually(() => mine.length >= run.fills.length, 5_000, `every fill of ${s.id}`);
      const project = (
        f: { clientOrderId: string; side: string; amount: number; price: number },
        fee: number,
      ) => ({
        clientOrderId: f.clientOrderId,
        side: f.side,
        amount: f.amount,
        price: f.price,
        fee,
      });
      expect(mine.map((f) => project(f, f.fee.cost))).toEqual(run.fills.map((f) => project(f, f.fee)));
      // Orders: the same client order ids, sides and amounts, in the same order.
      const placed = orders
        .filter((o) => o.strategyId === s.id)
        .map((o) => [o.clientOrderId, o.side, o.amount]);
      const backtestOrders = [...new Map(run.fills.map((f) => [f.clientOrderId, f])).values()].map(
        (f) => f.clientOrderId,
      );
      expect(placed.map((p) => p[0])).toEqual(backtestOrders);
      // The live kernel's book ends where the backtest's does.
      const book = h.get(s.id).kernels.get(SYMBOL)?.book;
      expect(book?.cash).toBe(run.finalCash);
      expect(book?.pos).toBe(run.finalPosition);
    }
    // Protections fired on the live side too (at least one barrier exit among the decisions).
    const reasons = strategies.flatMap((s) => h.get(s.id).decisions.map((d) => d.reason));
    expect(reasons.some((r) => r === "stop_loss" || r === "take_profit" || r === "trailing_stop")).toBe(true);
    // Two strategies, one account: the venue's BTC is the sum of the strategies' own positions.
    const { balances } = (await callTool(bus, "exchange", "get_balances", {})) as {
      balances: Record<string, { total: number }>;
    };
    const sum = strategies.reduce((a, s) => a + (h.get(s.id).kernels.get(SYMBOL)?.book.pos ?? 0), 0);
    expect(balances.BTC?.total ?? 0).toBeCloseTo(sum, 9);
  }, 120_000);
});
