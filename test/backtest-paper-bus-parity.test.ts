import { afterAll, describe, expect, it } from "vitest";
import { runEngine } from "../core/backtest/engine.ts";
import { ensureTopology } from "../core/bus/topology.ts";
import { callTool } from "../core/bus/tool-transport.ts";
import { loadConfig } from "../core/config.ts";
import { Candle } from "../core/domain/market.ts";
import { Fill } from "../core/domain/trading.ts";
import { DEFAULT_FEES } from "../core/execution/fees.ts";
import { EventEnvelope } from "../core/protocol/envelope.ts";
import { desiredPosition, orderToward } from "../core/strategy/orders.ts";
import { createStrategy, StrategySpec } from "../core/strategy/spec.ts";
import { subjects } from "../core/subjects.ts";
import { quietLogger } from "../core/telemetry/log.ts";
import type { ExchangeRuntime } from "../hotpath/exchange/runtime.ts";
import { startExchange } from "../hotpath/exchange/service.ts";
import { eventually, privateNats, testBus } from "./nats.ts";

/**
 * Backtest ↔ paper trading, driven over the bus. The exchange service runs its paper venue on the
 * simulated market (its feed ticked by hand, one bar at a time); a strategy runner reads each candle
 * from the MARKET stream, asks the exchange for balances and submits market orders with
 * `submit_order` over NATS, exactly as a live strategy would. The fills it sees on `events.trade.fill`
 * must equal, bit for bit, the fills the backtest engine produces on the same candles with the same
 * strategy, sizing, fee and fill code. Spot and long-only (the paper venue is a spot account); limits
 * are opened wide because the pre-trade check is not what this test compares.
 */
const SYMBOL = "BTC/USDT";
/** The paper venue's lot step for BTC/USDT: the live runner and the backtest both round to it. */
const sizing = { fraction: 0.9, amountStep: 0.000001 };
const strategySpec = { kind: "momentum", lookback: 15, threshold: 0.001 } as const;
const BARS = 300;

describe("backtest ↔ paper trading over the bus", async () => {
  const nats = await privateNats();
  const bus = await testBus(nats.url);
  await ensureTopology(bus);
  const config = loadConfig({
    PAPER_SYMBOLS: SYMBOL,
    PAPER_BALANCES: "USDT:10000",
    PAPER_SLIPPAGE_BPS: "0",
    PAPER_SEED: "parity",
    MAX_POSITION_SIZE: "1",
    MAX_PORTFOLIO_RISK: "1",
    MAX_CORRELATION: "1",
    MAX_LEVERAGE: "10",
  });
  const candles: Candle[] = [];
  const fills: Fill[] = [];
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
  await bus.nc.flush();

  let runtime: ExchangeRuntime | undefined;
  const service = await startExchange(
    { config, bus, logger: quietLogger("exchange") },
    { port: 0 },
    {
      feedTimer: false,
      onRuntime: (rt) => {
        runtime = rt;
      },
    },
  );
  afterAll(() => service.stop());

  it(`${strategySpec.kind}: the fills seen on the bus are the backtest's fills`, async () => {
    const strategy = createStrategy(StrategySpec.parse(strategySpec));
    let target = 0;
    let desired = 0;
    let submitted = 0;
    for (let i = 0; i < BARS; i++) {
      if (i > 0) runtime?.feed.tick();
      const candle = await eventually(() => candles[i], 5_000, `candle ${i} on the bus`);
      const t = strategy.onBar(candle, i);
      const { balances } = (await callTool(bus, "exchangespec", "get_balances", {})) as {
        balances: Record<string, { total: number }>;
      };
      const cash = balances.USDT?.total ?? 0;
      const position = balances.BTC?.total ?? 0;
      if (t !== undefined && t !== target) {
        target = t;
        desired = desiredPosition(target, cash + position * candle.close, candle.close, sizing);
      }
      const intent = orderToward(position, desired, sizing.amountStep);
      if (intent === undefined) continue;
      const order = (await callTool(bus, "exchange", "submit_order", {
        symbol: SYMBOL,
        side: intent.side,
        type: "market",
        amount: intent.amount,
        client_order_id: `parity-${i}`,
      })) as { order: { status: string } };
      expect(order.order.status).toBe("filled");
      submitted += 1;
    }
    expect(submitted).toBeGreaterThan(5);

    const run = runEngine(candles.slice(0, BARS), createStrategy(StrategySpec.parse(strategySpec)), {
      initialCash: 10_000,
      fill: { fees: DEFAULT_FEES, slippageBps: 0 },
      execution: "book",
      sizing,
    });
    await eventually(() => fills.length >= run.fills.length, 5_000, "every fill event");
    const project = (f: { side: string; amount: number; price: number }, fee: number) => ({
      side: f.side,
      amount: f.amount,
      price: f.price,
      fee,
    });
    expect(fills.map((f) => project(f, f.fee.cost))).toEqual(run.fills.map((f) => project(f, f.fee)));
  });
});
