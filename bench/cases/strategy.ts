import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Bus } from "../../adapters/nats/bus.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { loadConfig } from "../../core/config.ts";
import { type Candle, marketEventType } from "../../core/domain/market.ts";
import { type OrderWithFillsWire, withFillsFromWire } from "../../core/domain/wire.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { subjects } from "../../core/subjects.ts";
import { type Logger, quietLogger } from "../../core/telemetry/log.ts";
import { createToolRegistry } from "../../core/tools/registry.ts";
import type { ExchangeRuntime } from "../../hotpath/exchange/runtime.ts";
import { Journal } from "../../hotpath/exchange/journal.ts";
import { busPublisher, type Publisher } from "../../hotpath/exchange/publisher.ts";
import { memoryPublisher } from "../../hotpath/exchange/testing.ts";
import { ExchangeRuntime as Runtime } from "../../hotpath/exchange/runtime.ts";
import { startExchange } from "../../hotpath/exchange/service.ts";
import { exchangeTools } from "../../hotpath/exchange/tools.ts";
import { StrategyConfig } from "../../hotpath/strategy/config.ts";
import { StrategyHost } from "../../hotpath/strategy/host.ts";
import { StrategyInstance } from "../../hotpath/strategy/instance.ts";
import { startStrategy, submitOrderArgs } from "../../hotpath/strategy/service.ts";
import { type BenchCase, type BenchResult, collectGarbage, Recorder } from "../harness.ts";

/**
 * Tick → order. A closed candle reaches the strategy host, its kernel decides (an MA crossover 1/2 on
 * closes that alternate up and down, so every candle flips the target and places an order), and the
 * order goes through the exchange's submit_order: input parse, market checks, the in-process pre-trade
 * check, the paper venue (accepted and filled), the events journaled (the service's durable path:
 * write(2), EXCHANGE_JOURNAL_FSYNC=off), the answer back to the kernel.
 *   in process — the host calls the exchange's tool registry directly (no network, the answer not
 *     re-parsed); target p50 ≤ 50 µs on the durable path, measured side by side with the events
 *     fdatasync'ed and with nothing stored.
 *   over the bus — the candle is published on MARKET, the strategy agent consumes it and calls the
 *     exchange agent over NATS; compared with the raw NATS request/reply round trip measured
 *     interleaved in the same run (target p50 ≤ 2× it).
 * Scale — 1,000 instances on one host, each on its own symbol at 1 candle/s (1,000 candles/s spread
 * over each second), MA crossover 10/30: p99 of the host's decision time per candle, and heap per instance.
 */
const SYMBOL = "BTC/USDT";

function alternating(start: number, i: number, price: number, symbol = SYMBOL): Candle {
  const close = price * (i % 2 === 0 ? 1.0002 : 0.9998);
  return {
    venue: "paper",
    symbol,
    timeframe: "1m",
    ts: start + i * 60_000,
    open: close,
    high: close,
    low: close,
    close,
    volume: 1,
  };
}

const config = (
  id: string,
  symbols = [SYMBOL],
  strategy: unknown = { kind: "ma_crossover", fast: 1, slow: 2 },
) => StrategyConfig.parse({ id, strategy, symbols, capital: 1_000, sizing: { kind: "fixed", fraction: 1 } });

/** Where the in-process exchange stores an order's events before it answers. */
type Store = "journal" | "fsync" | "memory";

const STORES: Record<Store, string> = {
  journal: "events journaled: the service's path, write(2), EXCHANGE_JOURNAL_FSYNC=off",
  fsync: "events journaled and fdatasync'ed, EXCHANGE_JOURNAL_FSYNC=always",
  memory: "in memory: nothing stored",
};

interface Lane {
  store: Store;
  id: string;
  host: StrategyHost;
  publisher: Publisher;
  rt: ExchangeRuntime;
  journal?: Journal;
  rec: Recorder;
  /** Candles fed (each lane its own alternating series). */
  candles: number;
  answered?: () => void;
}

async function lane(bus: Bus, logger: Logger, store: Store, dir: string): Promise<Lane> {
  const journal =
    store === "memory"
      ? undefined
      : Journal.open({ dir: join(dir, store), fsync: store === "fsync" ? "always" : "off" }, logger).journal;
  const publisher = journal === undefined ? memoryPublisher() : busPublisher(bus, logger, { journal });
  const exchangeConfig = loadConfig({ PAPER_BALANCES: "USDT:1000000000", PAPER_SYMBOLS: SYMBOL });
  const rt = new Runtime({ config: exchangeConfig, logger, publisher, feedTimer: false });
  await rt.start();
  const registry = createToolRegistry("exchange", exchangeTools(rt));
  let n = 0;
  const id = `bench-${store}`;
  const host = new StrategyHost({
    clock: Date.now,
    logger,
    orders: {
      // In process the exchange's answer is the value its handler built (typed, not re-parsed); the
      // agent over NATS parses it (exchangeOrderPort).
      submit: async (cmd, where) =>
        withFillsFromWire(
          (await registry.callInProcess("submit_order", submitOrderArgs(cmd, where), {
            requestId: `b${store}${++n}`,
            correlationId: `b${store}${n}`,
            transport: "local",
            logger,
          })) as OrderWithFillsWire,
        ),
    },
    onOrder: () => l.answered?.(),
  });
  host.add(StrategyInstance.fresh(config(id), 0));
  const l: Lane = { store, id, host, publisher, rt, rec: new Recorder(), candles: 0 };
  if (journal !== undefined) l.journal = journal;
  return l;
}

/** The lane's next candle to its host: the time to the order's answer (ns); undefined when it placed none. */
async function tick(l: Lane, start: number, price: number): Promise<number | undefined> {
  const c = alternating(start, l.candles++, price);
  const done = new Promise<void>((resolve) => {
    l.answered = resolve;
  });
  const t0 = process.hrtime.bigint();
  l.host.onCandle(c);
  if (l.host.get(l.id).openOrders.size === 0) return undefined;
  await done;
  return Number(process.hrtime.bigint() - t0);
}

/**
 * The three stores side by side, interleaved candle by candle (fdatasync on every 10th candle only:
 * each costs milliseconds). Each candle is its own turn of the event loop, as a candle from MARKET is
 * in the agent: the publisher's JetStream lane runs between them, outside the measured time.
 */
async function inProcess(ctx: { natsUrl: string; scale: number }): Promise<BenchResult[]> {
  const logger = quietLogger("bench-strategy");
  const bus = await Bus.connect({ url: ctx.natsUrl, name: "bench-strategy-local", logger });
  await ensureTopology(bus);
  const dir = mkdtempSync(join(tmpdir(), "bot4-bench-strategy-"));
  const lanes: Lane[] = [];
  for (const store of Object.keys(STORES) as Store[]) lanes.push(await lane(bus, logger, store, dir));
  const price = lanes[0]?.rt.paper.price(SYMBOL) ?? 50_000;
  const start = Date.UTC(2026, 0, 1);
  const iterations = Math.max(2_000, Math.round(20_000 * ctx.scale));
  const warm = 500;
  for (let i = 0; i < iterations + warm; i++) {
    for (const l of lanes.filter((l) => l.store !== "fsync" || i % 10 === 0)) {
      const ns = await tick(l, start, price);
      if (ns !== undefined && i >= warm) l.rec.recordNs(ns);
      await new Promise((r) => setImmediate(r));
    }
  }
  for (const l of lanes) {
    await l.publisher.flush();
    await l.rt.stop();
    l.journal?.close();
  }
  rmSync(dir, { recursive: true, force: true });
  await bus.drain();
  return lanes.map(laneResult);
}

function laneResult(l: Lane): BenchResult {
  const latency = l.rec.stats();
  return {
    case: `strategy tick→order in process, ${l.store === "journal" ? "durable" : l.store}`,
    unit: "order",
    latency,
    notes: {
      store: STORES[l.store],
      orders: latency.count,
      ...(l.store === "journal" ? { target_p50_us: 50 } : {}),
    },
  };
}

async function overTheBus(ctx: { natsUrl: string; scale: number }): Promise<BenchResult[]> {
  const logger = quietLogger("bench-strategy-bus");
  const bus = await Bus.connect({ url: ctx.natsUrl, name: "bench-strategy-bus", logger });
  const client = await Bus.connect({ url: ctx.natsUrl, name: "bench-strategy-client", logger });
  await ensureTopology(bus);
  const cfg = loadConfig({
    PAPER_BALANCES: "USDT:1000000000",
    PAPER_SYMBOLS: SYMBOL,
    PAPER_SLIPPAGE_BPS: "0",
  });
  let rt: ExchangeRuntime | undefined;
  const exchange = await startExchange(
    { config: cfg, bus, logger },
    { port: 0 },
    { feedTimer: false, onRuntime: (r) => (rt = r) },
  );
  let answered: (() => void) | undefined;
  let host: StrategyHost | undefined;
  const strategy = await startStrategy(
    { config: cfg, bus, logger },
    { port: 0 },
    {
      defaultStrategy: "off",
      onHost: (h) => (host = h),
      onOrderResult: () => answered?.(),
    },
  );
  const h = host as StrategyHost;
  await h.create(config("bench-bus"));
  const inst = h.get("bench-bus");
  // A candle that places no order (the first, while the window fills) settles the wait at once.
  let decidedNothing: (() => void) | undefined;
  const onCandle = h.onCandle.bind(h);
  h.onCandle = (c, storedAt, liveFrom) => {
    onCandle(c, storedAt, liveFrom);
    if (inst.openOrders.size === 0) decidedNothing?.();
  };
  client.nc.subscribe("bench.strategy.echo", {
    callback: (_e, m) => {
      m.respond(m.data);
    },
  });
  await client.nc.flush();
  const price = rt?.paper.price(SYMBOL) ?? 50_000;
  const start = Date.now() - (Date.now() % 60_000) + 3_600_000;
  const iterations = Math.max(300, Math.round(3_000 * ctx.scale));
  const subject = subjects.market.of("paper", "candle", SYMBOL);
  const floor = new Recorder();
  const tick = new Recorder();
  const payload = JSON.stringify({ probe: true });
  const seen = () => [...inst.kernels.values()][0]?.book.lastBarTs ?? -1;
  for (let i = 0; i < iterations + 100; i++) {
    // The floor, interleaved.
    const f0 = process.hrtime.bigint();
    await bus.nc.request("bench.strategy.echo", payload, { timeout: 5_000 });
    if (i >= 100) floor.recordNs(Number(process.hrtime.bigint() - f0));
    const c = alternating(start, i, price);
    let ordered = true;
    const done = new Promise<void>((resolve) => {
      answered = resolve;
      decidedNothing = () => {
        ordered = false;
        resolve();
      };
    });
    const event = makeEvent({ type: marketEventType.candle, source: "bench", subject, data: c });
    const bytes = JSON.stringify(event);
    const t0 = process.hrtime.bigint();
    client.nc.publish(subject, bytes, { headers: undefined });
    await done;
    if (i >= 100 && ordered) tick.recordNs(Number(process.hrtime.bigint() - t0));
    while (seen() < c.ts) await new Promise((r) => setImmediate(r));
    await h.settle();
  }
  await strategy.stop();
  await exchange.stop();
  await client.drain();
  await bus.drain();
  const f = floor.stats();
  const t = tick.stats();
  return [
    { case: "nats request/reply echo (strategy floor)", unit: "round trip", latency: f },
    {
      case: "strategy tick→order over the bus (MARKET→strategy→exchange)",
      unit: "order",
      latency: t,
      notes: { p50_vs_floor: t.p50_us / f.p50_us, target_p50_vs_floor: 2, orders: t.count },
    },
  ];
}

async function scaleCase(ctx: { scale: number }): Promise<BenchResult> {
  const logger = quietLogger("bench-strategy-scale");
  const instances = 1_000;
  const seconds = Math.max(3, Math.round(10 * Math.min(1, ctx.scale)));
  let filled = 0;
  const host = new StrategyHost({
    clock: Date.now,
    logger,
    orders: {
      // An exchange that fills at once at the command's price (the order path is measured above).
      submit: async (cmd) => {
        filled++;
        const now = Date.now();
        return {
          order: {
            id: cmd.clientOrderId,
            clientOrderId: cmd.clientOrderId,
            account: "default",
            venue: "paper",
            symbol: cmd.symbol,
            side: cmd.side,
            type: "market",
            amount: cmd.amount,
            status: "filled",
            filled: cmd.amount,
            remaining: 0,
            createdAt: now,
            updatedAt: now,
            strategyId: cmd.strategyId,
          },
          fills: [],
        };
      },
    },
  });
  collectGarbage();
  const heap0 = process.memoryUsage().heapUsed;
  const symbols = Array.from({ length: instances }, (_, i) => `S${String(i).padStart(4, "0")}/USDT`);
  for (const [i, symbol] of symbols.entries()) {
    host.add(
      StrategyInstance.fresh(config(`scale-${i}`, [symbol], { kind: "ma_crossover", fast: 10, slow: 30 }), 0),
    );
  }
  // Warm every instance's windows (30 bars), then measure.
  const start = Date.UTC(2026, 0, 1);
  let bar = 0;
  const walk = symbols.map((_, i) => 100 + (i % 7));
  const next = (i: number) => {
    walk[i] = (walk[i] as number) * (1 + Math.sin(bar * 0.7 + i) * 0.002);
    const close = walk[i] as number;
    return {
      venue: "paper",
      symbol: symbols[i] as string,
      timeframe: "1m" as const,
      ts: start + bar * 60_000,
      open: close,
      high: close,
      low: close,
      close,
      volume: 1,
    };
  };
  for (; bar < 30; bar++) for (let i = 0; i < instances; i++) host.onCandle(next(i));
  await host.settle();
  collectGarbage();
  const heap1 = process.memoryUsage().heapUsed;
  const rec = new Recorder();
  const slice = 10; // candles per 10 ms: 1,000 candles/s
  const t0 = Date.now();
  for (let s = 0; s < seconds; s++, bar++) {
    for (let i = 0; i < instances; i += slice) {
      for (let j = i; j < i + slice && j < instances; j++) {
        const c = next(j);
        const a = process.hrtime.bigint();
        host.onCandle(c);
        rec.recordNs(Number(process.hrtime.bigint() - a));
      }
      const due = t0 + s * 1_000 + ((i + slice) / instances) * 1_000;
      const wait = due - Date.now();
      await new Promise((r) => setTimeout(r, Math.max(0, wait)));
    }
  }
  await host.settle();
  const elapsed = (Date.now() - t0) / 1000;
  const stats = rec.stats();
  return {
    case: "strategy 1,000 instances at 1 candle/s each",
    unit: "candle",
    latency: stats,
    throughput: Math.round(stats.count / elapsed),
    notes: {
      instances,
      seconds,
      orders: filled,
      heap_per_instance_kib: Math.round(((heap1 - heap0) / instances / 1024) * 10) / 10,
      target_p99_ms: 10,
    },
  };
}

const strategyCase: BenchCase = {
  name: "strategy",
  order: 45,
  async run(ctx): Promise<BenchResult[]> {
    const local = await inProcess(ctx);
    ctx.log(`strategy in process: ${local.map((r) => r.latency?.count ?? 0).join("/")} orders`);
    const bus = await overTheBus(ctx);
    ctx.log("strategy over the bus: done");
    const scale = await scaleCase(ctx);
    ctx.log("strategy at scale: done");
    return [...local, ...bus, scale];
  },
};

export default strategyCase;
