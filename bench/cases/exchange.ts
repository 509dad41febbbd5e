import { Bus } from "../../core/bus/bus.ts";
import { ensureTopology } from "../../core/bus/topology.ts";
import { loadConfig } from "../../core/config.ts";
import { type Fill, type Order, tradeEventType } from "../../core/domain/trading.ts";
import { startNatsServer } from "../../core/nats-server/process.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { createToolRegistry } from "../../core/tools/registry.ts";
import type { ToolContext } from "../../core/tools/tool.ts";
import { busPublisher, type Publisher } from "../../hotpath/exchange/publisher.ts";
import { lastBars, readTradeHistory } from "../../hotpath/exchange/recovery.ts";
import { ExchangeRuntime } from "../../hotpath/exchange/runtime.ts";
import { exchangeTools } from "../../hotpath/exchange/tools.ts";
import { type BenchCase, type BenchResult, measureInterleaved, measureSequential } from "../harness.ts";

/**
 * Order submission: `submit_order` received by the exchange's tool registry → zod input parse → market
 * checks → in-process pre-trade check (local snapshot) → accepted by the paper venue → zod output.
 *   durable   — answered once the order's events are stored in JetStream (the service's path): the
 *               events of one order go out in one window and their acks are awaited together.
 *   in-memory — the same path with a publisher that stores nothing (what the seed measured).
 *   floor     — one JetStream publish and its ack on the same connection, measured interleaved.
 *   filled    — market buys and sells alternating, durable (fills, positions, risk refresh).
 * Recovery: time from nothing to an exchange ready to take orders with 100,000 orders (market orders,
 * five events each: submitted, accepted, fill, position, filled) in EVENTS, on a private nats-server.
 */
const exchangeCase: BenchCase = {
  name: "exchange",
  order: 40,
  async run(ctx): Promise<BenchResult[]> {
    const logger = quietLogger("bench-exchange");
    const bus = await Bus.connect({ url: ctx.natsUrl, name: "bench-exchange", logger });
    await ensureTopology(bus);
    const publisher = busPublisher(bus, logger);
    const config = loadConfig({ PAPER_BALANCES: "USDT:1000000000,BTC:1000", PAPER_SYMBOLS: "BTC/USDT" });
    const durable = new ExchangeRuntime({ config, logger, publisher, feedTimer: false });
    const memory = new ExchangeRuntime({ config, logger, publisher: memoryPublisher(), feedTimer: false });
    await durable.start();
    await memory.start();
    const registries = [durable, memory].map((rt) => createToolRegistry("exchange", exchangeTools(rt)));
    const context = (i: number): ToolContext => ({
      requestId: `bench-${i}`,
      correlationId: `bench-${i}`,
      transport: "local",
      logger,
    });
    const below = Math.round((durable.paper.price("BTC/USDT") ?? 50_000) * 0.5);
    let n = 0;
    const resting = (registry: (typeof registries)[number]) => () => {
      n += 1;
      return registry.call(
        "submit_order",
        {
          symbol: "BTC/USDT",
          side: "buy",
          type: "limit",
          amount: 0.001,
          price: below,
          client_order_id: `r-${n}`,
        },
        context(n),
      );
    };
    const floorEvent = (i: number) =>
      makeEvent({
        id: `bench-floor-${i}`,
        type: "bench.floor",
        source: "bench",
        subject: "events.bench.floor",
        data: { i },
      });
    let f = 0;
    const floor = () => {
      f += 1;
      return bus.publishEvent(floorEvent(f));
    };
    const iterations = Math.max(1_000, Math.round(5_000 * ctx.scale));
    const [dur, mem, flo] = await measureInterleaved(
      [
        resting(registries[0] as (typeof registries)[number]),
        resting(registries[1] as (typeof registries)[number]),
        floor,
      ],
      iterations,
    );
    const filled = await measureSequential(() => {
      n += 1;
      return (registries[0] as (typeof registries)[number]).call(
        "submit_order",
        {
          symbol: "BTC/USDT",
          side: n % 2 === 0 ? "buy" : "sell",
          type: "market",
          amount: 0.001,
          client_order_id: `m-${n}`,
        },
        context(n),
      );
    }, iterations);
    await publisher.flush();
    ctx.log(`exchange: ${publisher.published} events stored, ${publisher.failures} publish retries`);
    await durable.stop();
    await memory.stop();
    await bus.drain();
    const recovery = await measureRecovery(Math.round(100_000 * Math.min(1, ctx.scale)), ctx.log);
    const ratio = (dur?.latency.p50_us ?? 0) / (flo?.latency.p50_us ?? 1);
    return [
      {
        case: "exchange submit_order → pre-trade → paper accepted, durable (events acked by JetStream)",
        unit: "order",
        latency: dur?.latency,
        throughput: dur?.throughput,
        notes: { ratio_to_floor_p50: Math.round(ratio * 100) / 100, target: "≤ 100 µs or ≤ 1.3× floor" },
      },
      {
        case: "exchange submit_order → pre-trade → paper accepted, in memory (nothing stored)",
        unit: "order",
        latency: mem?.latency,
        throughput: mem?.throughput,
      },
      {
        case: "JetStream publish + ack floor (same run, interleaved)",
        unit: "event",
        latency: flo?.latency,
        throughput: flo?.throughput,
      },
      {
        case: "exchange submit_order → pre-trade → paper filled (market), durable",
        unit: "order",
        latency: filled.latency,
        throughput: filled.throughput,
      },
      recovery,
    ];
  },
};

/** A publisher that stores nothing: the in-memory path. */
function memoryPublisher(): Publisher {
  return {
    order() {},
    fill() {},
    position() {},
    market() {},
    notice() {},
    durable: () => Promise.resolve(),
    available: true,
    flush: () => Promise.resolve(),
    pending: 0,
    published: 0,
    failures: 0,
    dropped: 0,
    lastSeq: 0,
  };
}

async function measureRecovery(orders: number, log: (line: string) => void): Promise<BenchResult> {
  const server = await startNatsServer();
  const logger = quietLogger("bench-recovery");
  const bus = await Bus.connect({ url: server.url, name: "bench-recovery", logger });
  try {
    await ensureTopology(bus);
    const written = performance.now();
    const t0 = Date.UTC(2026, 0, 1);
    let pending: Promise<unknown>[] = [];
    for (let i = 0; i < orders; i++) {
      const id = `paper-bench-${i + 1}`;
      const cid = `c-${i}`;
      const side = i % 2 === 0 ? "buy" : "sell";
      const base = {
        clientOrderId: cid,
        account: "default",
        venue: "paper",
        symbol: "BTC/USDT",
        side,
        type: "market",
        amount: 0.001,
        createdAt: t0 + i,
        updatedAt: t0 + i,
      } as const;
      const submitted: Order = { ...base, id: cid, status: "submitted", filled: 0, remaining: 0.001 };
      const accepted: Order = { ...submitted, id, status: "accepted" };
      const fill: Fill = {
        id: `paper:${id}:1`,
        orderId: id,
        clientOrderId: cid,
        account: "default",
        venue: "paper",
        symbol: "BTC/USDT",
        side,
        amount: 0.001,
        price: 50_000,
        fee: { currency: "USDT", cost: 0.05 },
        liquidity: "taker",
        timestamp: t0 + i,
      };
      const done: Order = {
        ...accepted,
        status: "filled",
        filled: 0.001,
        remaining: 0,
        averagePrice: 50_000,
      };
      const events = [
        makeEvent({
          id: `order:paper:${cid}:submitted:0`,
          type: tradeEventType.order("submitted"),
          source: "exchange",
          subject: subjects.trade.order("submitted"),
          data: submitted,
        }),
        makeEvent({
          id: `order:paper:${id}:accepted:0`,
          type: tradeEventType.order("accepted"),
          source: "exchange",
          subject: subjects.trade.order("accepted"),
          data: accepted,
        }),
        makeEvent({
          id: `fill:${fill.id}`,
          type: tradeEventType.fill,
          source: "exchange",
          subject: subjects.trade.fill,
          data: fill,
        }),
        makeEvent({
          id: `position:paper:default:BTC/USDT:${fill.id}`,
          type: tradeEventType.position,
          source: "exchange",
          subject: subjects.trade.position,
          data: {
            account: "default",
            venue: "paper",
            symbol: "BTC/USDT",
            amount: side === "buy" ? 0.001 : 0,
            averagePrice: 50_000,
            realizedPnl: 0,
            timestamp: t0 + i,
          },
        }),
        makeEvent({
          id: `order:paper:${id}:filled:0.001`,
          type: tradeEventType.order("filled"),
          source: "exchange",
          subject: subjects.trade.order("filled"),
          data: done,
        }),
      ];
      for (const e of events) pending.push(bus.publishEvent(e));
      if (pending.length >= 2_000) {
        await Promise.all(pending);
        pending = [];
      }
    }
    await Promise.all(pending);
    log(
      `recovery: ${orders} orders (${orders * 5} events) written in ${Math.round(performance.now() - written)} ms`,
    );
    const config = loadConfig({ PAPER_BALANCES: "USDT:1000000000,BTC:1000", PAPER_SYMBOLS: "BTC/USDT" });
    const started = performance.now();
    const publisher = busPublisher(bus, logger);
    const rt = new ExchangeRuntime({ config, logger, publisher, feedTimer: false });
    const history = await readTradeHistory(bus, logger);
    rt.recover(history, await lastBars(bus, rt.paper.name, rt.paper.symbols()));
    await rt.start();
    const ms = performance.now() - started;
    const counts = rt.oms.counts();
    log(
      `recovery: ready after ${Math.round(ms)} ms (replay ${Math.round(history.ms)} ms, ${history.messages} messages; ${counts.orders} orders, ${counts.fills} fills)`,
    );
    await publisher.flush();
    await rt.stop();
    return {
      case: `exchange recovery: start → ready with ${orders} orders in EVENTS (full replay)`,
      unit: "start",
      notes: {
        ms: Math.round(ms),
        replay_ms: Math.round(history.ms),
        messages: history.messages,
        target_ms: 2_000,
      },
    };
  } finally {
    await bus.drain();
    await server.stop({ clean: true });
  }
}

export default exchangeCase;
