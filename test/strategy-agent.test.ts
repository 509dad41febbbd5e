import { DeliverPolicy } from "@nats-io/jetstream";
import { afterAll, describe, expect, it } from "vitest";
import { ensureTopology } from "../adapters/nats/topology.ts";
import { callTool } from "../adapters/nats/tool-transport.ts";
import { loadConfig } from "../core/config.ts";
import { type Candle, type Signal, marketEventType } from "../core/domain/market.ts";
import { Fill, tradeEventType } from "../core/domain/trading.ts";
import { EventEnvelope, makeEvent } from "../core/protocol/envelope.ts";
import { streams, subjects } from "../core/subjects.ts";
import { quietLogger } from "../core/telemetry/log.ts";
import { ToolError } from "../core/tools/errors.ts";
import { ComplianceInput } from "../functions/compliance/events.ts";
import type { ExchangeRuntime } from "../hotpath/exchange/runtime.ts";
import { startExchange } from "../hotpath/exchange/service.ts";
import type { StrategyHost } from "../hotpath/strategy/host.ts";
import { startStrategy } from "../hotpath/strategy/service.ts";
import { eventually, privateNats, testBus } from "./nats.ts";

/**
 * The strategy agent's tools over NATS against the real exchange service (paper venue, feed ticked by
 * hand): validation that changes nothing, the control trail, profit figures checked against the fills
 * the bus carried, history from the streams, and unprotected positions after a stop.
 */
const SYMBOL = "BTC/USDT";

async function rpcError(p: Promise<unknown>): Promise<ToolError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ToolError) return err;
    throw err;
  }
  throw new Error("expected the call to fail");
}

describe("strategy agent tools", async () => {
  const nats = await privateNats();
  const bus = await testBus(nats.url);
  await ensureTopology(bus);
  const config = loadConfig({
    PAPER_SYMBOLS: SYMBOL,
    PAPER_BALANCES: "USDT:100000",
    PAPER_SLIPPAGE_BPS: "1",
    PAPER_SEED: "tools",
    MAX_POSITION_SIZE: "0.05",
  });
  const fills: Fill[] = [];
  const decoder = new TextDecoder();
  bus.nc.subscribe(subjects.trade.fill, {
    callback: (_e, m) => {
      fills.push(Fill.parse(EventEnvelope.parse(JSON.parse(decoder.decode(m.data))).data));
    },
  });
  let host: StrategyHost | undefined;
  const agent = await startStrategy(
    { config, bus, logger: quietLogger("strategy") },
    { port: 0 },
    { defaultStrategy: "off", onHost: (h) => (host = h) },
  );
  let runtime: ExchangeRuntime | undefined;
  const exchange = await startExchange(
    { config, bus, logger: quietLogger("exchange") },
    { port: 0 },
    { feedTimer: false, onRuntime: (rt) => (runtime = rt) },
  );
  afterAll(async () => {
    await agent.stop();
    await exchange.stop();
  });
  let lastCandle: Candle | undefined;
  const call = (tool: string, args: unknown) => callTool(bus, "strategy", tool, args);
  const tick = async (n: number) => {
    const h = host as StrategyHost;
    for (let i = 0; i < n; i++) {
      const [c] = runtime?.feed.tick() ?? [];
      lastCandle = c;
      await eventually(() => h.lastCandleTs === c?.ts, 5_000, "the agent to see the candle");
      await h.settle();
    }
  };

  it("refuses bad params with -32602 naming the field, and nothing changes", async () => {
    const base = { id: "t-ma", kind: "ma_crossover", symbols: [SYMBOL], capital: 4_000 };
    const crossed = await rpcError(call("create_strategy", { ...base, params: { fast: 30, slow: 10 } }));
    expect(crossed.code).toBe(-32602);
    expect(crossed.message).toMatch(/params\.fast: fast must be shorter than slow/);
    const kind = await rpcError(call("create_strategy", { ...base, kind: "martingale" }));
    expect(kind.code).toBe(-32602);
    const stop = await rpcError(call("create_strategy", { ...base, protections: { stop_loss: 2 } }));
    expect(stop.code).toBe(-32602);
    expect(JSON.stringify(stop.data)).toContain("protections.stop_loss");
    // The wire names are snake_case: the domain's camelCase spelling is an unknown key.
    const camel = await rpcError(call("create_strategy", { ...base, protections: { stopLoss: 0.01 } }));
    expect(camel.code).toBe(-32602);
    expect(JSON.stringify(camel.data)).toContain("stopLoss");
    const wrongType = await rpcError(call("create_strategy", { ...base, params: { fast: "3" } }));
    expect(wrongType.code).toBe(-32602);
    const typo = await rpcError(call("create_strategy", { ...base, params: { fats: 3 } }));
    expect(typo.code).toBe(-32602);
    // The kind's schema knows its params: the typo is refused naming the field.
    expect(JSON.stringify(typo.data)).toMatch(/params.*fats|fats.*params/);
    expect(((await call("list_strategies", {})) as { strategies: unknown[] }).strategies).toEqual([]);
  });

  it("creates, trades through the exchange, and reports profit that matches the fills on the bus", async () => {
    const created = (await call("create_strategy", {
      id: "t-ma",
      kind: "ma_crossover",
      params: { fast: 2, slow: 5 },
      symbols: [SYMBOL],
      capital: 4_000,
      protections: { stop_loss: 0.01 },
    })) as { status: string };
    expect(created.status).toBe("running");
    await tick(80);
    const got = (await call("get_strategy", { id: "t-ma" })) as {
      orders: number;
      fills: number;
      decisions: { reason: string; client_order_id?: string }[];
      kernels: { position: number; cash: number }[];
      positions: { symbol: string; amount: number; realized_pnl: number; unrealized_pnl: number }[];
    };
    expect(got.orders).toBeGreaterThan(3);
    expect(got.decisions.length).toBeGreaterThan(0);
    expect(got.decisions.every((d) => typeof d.reason === "string")).toBe(true);
    // Independently from the bus: cash and position from this strategy's fills.
    const mine = fills.filter((f) => f.strategyId === "t-ma");
    await eventually(
      () => mine.length === got.fills || fills.filter((f) => f.strategyId === "t-ma").length === got.fills,
      5_000,
      "fills",
    );
    const all = fills.filter((f) => f.strategyId === "t-ma");
    let cash = 4_000;
    let pos = 0;
    for (const f of all) {
      const s = f.side === "buy" ? 1 : -1;
      cash -= s * f.amount * f.price + f.fee.cost;
      pos += s * f.amount;
    }
    expect(got.kernels[0]?.position).toBeCloseTo(pos, 9);
    expect(got.kernels[0]?.cash).toBeCloseTo(cash, 6);
    const { strategies } = (await call("strategy_profit", { id: "t-ma" })) as {
      strategies: {
        realized_pnl: number;
        unrealized_pnl: number;
        equity: number;
        trades: number;
        win_rate: number | null;
      }[];
    };
    const p = strategies[0];
    const mark = host?.get("t-ma").kernels.get(SYMBOL)?.book.mark as number;
    expect(p?.equity).toBeCloseTo(cash + pos * mark, 6);
    // Realised + unrealised = equity − capital (after every fee).
    expect((p?.realized_pnl ?? 0) + (p?.unrealized_pnl ?? 0)).toBeCloseTo((p?.equity ?? 0) - 4_000, 6);
    // Issue 14.6: the position itself shows the same realised (after fees) and unrealised PnL.
    const held = got.positions.filter((x) => x.symbol === SYMBOL);
    expect(held.length).toBe(Math.abs(pos) > 1e-12 ? 1 : 0);
    if (held[0] !== undefined) {
      expect(held[0].realized_pnl).toBeCloseTo(p?.realized_pnl ?? Number.NaN, 9);
      expect(held[0].unrealized_pnl).toBeCloseTo(p?.unrealized_pnl ?? Number.NaN, 9);
    }
    expect(p?.trades).toBeGreaterThan(0);
    // Every order's fills carry the strategy id (attribution) and its client order id is its decision's.
    const ids = new Set(got.decisions.map((d) => d.client_order_id).filter((x) => x !== undefined));
    expect(all.some((f) => ids.has(f.clientOrderId))).toBe(true);
  });

  it("hot-reloads params (bad ones refused, nothing changed) and announces the change for AUDIT", async () => {
    const before = (await call("get_strategy", { id: "t-ma" })) as { config: unknown };
    const bad = await rpcError(call("update_strategy", { id: "t-ma", params: { slow: 1 } }));
    expect(bad.code).toBe(-32602);
    const badSizing = await rpcError(
      call("update_strategy", { id: "t-ma", sizing: { kind: "fixed", fraction: 3 } }),
    );
    expect(badSizing.code).toBe(-32602);
    expect(((await call("get_strategy", { id: "t-ma" })) as { config: unknown }).config).toEqual(
      before.config,
    );
    const missing = await rpcError(call("update_strategy", { id: "nope", capital: 10 }));
    expect(missing.code).toBe(-32602);

    const updated = (await call("update_strategy", {
      id: "t-ma",
      params: { slow: 7 },
      protections: { stop_loss: 0.02, take_profit: 0.03 },
    })) as { changed: string[] };
    expect(updated.changed.sort()).toEqual(["protections", "strategy"]);
    // The control event on events.trade.control.strategy, as compliance parses it (→ an AUDIT control record).
    const consumer = await bus.js.consumers.get(streams.EVENTS.name, {
      filter_subjects: subjects.trade.control("strategy"),
      deliver_policy: DeliverPolicy.All,
    });
    const events: unknown[] = [];
    const iter = await consumer.fetch({ max_messages: 10, expires: 1_000 });
    for await (const m of iter) {
      events.push(m.json());
      if (m.info.pending === 0) break;
    }
    const parsed = events.map((e) => ComplianceInput.parse(e));
    expect(parsed.map((e) => e.kind)).toEqual(["control", "control"]);
    expect(parsed.map((e) => e.type)).toEqual([tradeEventType.strategy, tradeEventType.strategy]);
    const last = parsed[1]?.data as {
      action: string;
      changed: string[];
      config: { strategy: { slow: number } };
    };
    expect(last.action).toBe("update");
    expect(last.config.strategy.slow).toBe(7);
  });

  it("stop without flatten leaves the position shown as unprotected; pause places no orders", async () => {
    const h = host as StrategyHost;
    // Trade until the strategy holds a position, then stop it.
    await eventually(
      async () => {
        await tick(1);
        return Math.abs(h.get("t-ma").kernels.get(SYMBOL)?.book.pos ?? 0) > 0;
      },
      30_000,
      "a position",
    );
    const stopped = (await call("stop_strategy", { id: "t-ma" })) as {
      status: string;
      unprotected: boolean;
      positions: { protected: boolean }[];
    };
    expect(stopped.status).toBe("stopped");
    expect(stopped.unprotected).toBe(true);
    expect(stopped.positions[0]?.protected).toBe(false);
    const orders = h.get("t-ma").counters.orders;
    await tick(10);
    expect(h.get("t-ma").counters.orders).toBe(orders);
    await call("start_strategy", { id: "t-ma" });
    await call("pause_strategy", { id: "t-ma" });
    await tick(10);
    expect(h.get("t-ma").counters.orders).toBe(orders);
    const resumed = (await call("resume_strategy", { id: "t-ma" })) as {
      status: string;
      unprotected: boolean;
    };
    expect(resumed).toMatchObject({ status: "running", unprotected: false });
    // Flatten on stop closes it.
    const flat = (await call("stop_strategy", { id: "t-ma", flatten: true })) as { positions: unknown[] };
    expect(flat.positions).toEqual([]);
  });

  it("serves candle and signal history from the streams, newest `limit`", async () => {
    const { candles } = (await call("get_candles", { symbol: SYMBOL, limit: 5 })) as { candles: Candle[] };
    expect(candles).toHaveLength(5);
    expect(candles[4]).toEqual(lastCandle);
    expect(candles.map((c) => c.ts)).toEqual([...candles.map((c) => c.ts)].sort((a, b) => a - b));
    const ts = candles[4]?.ts as number;
    for (const [i, probability] of [0.7, 0.4, 0.55].entries()) {
      const signal: Signal = {
        symbol: SYMBOL,
        venue: "paper",
        direction: probability > 0.5 ? "long" : "short",
        probability,
        modelVersion: "test",
        ts: ts + i * 60_000,
      };
      await bus.publishEvent(
        makeEvent({
          type: marketEventType.signal,
          source: "inference",
          subject: subjects.events.signal(SYMBOL),
          data: signal,
        }),
      );
    }
    const { signals } = (await call("get_signals", { symbol: SYMBOL, limit: 2 })) as {
      signals: { probability: number; model_version: string }[];
    };
    expect(signals.map((s) => s.probability)).toEqual([0.4, 0.55]);
    expect(signals.map((s) => s.model_version)).toEqual(["test", "test"]);
    expect((await rpcError(call("get_candles", { symbol: SYMBOL, limit: 5_000 }))).code).toBe(-32602);
  });

  it("serves Prometheus series per strategy", async () => {
    const text = await (await fetch(`${agent.url}/metrics`)).text();
    expect(text).toMatch(/bot4_strategy_orders_total\{strategy="t-ma",outcome="filled"[^}]*\} [1-9]/);
    expect(text).toMatch(/bot4_strategy_fills_total\{strategy="t-ma"[^}]*\} [1-9]/);
    expect(text).toMatch(/bot4_strategy_decisions_total\{strategy="t-ma",reason="signal"[^}]*\} [1-9]/);
    expect(text).toMatch(/bot4_strategy_realized_pnl\{strategy="t-ma"[^}]*\} -?[0-9]/);
    const exposure = /bot4_strategy_exposure\{strategy="t-ma"[^}]*\} (\S+)/.exec(text)?.[1];
    expect(Math.abs(Number(exposure))).toBeLessThan(1e-6); // flattened by the stop above
  });
});
