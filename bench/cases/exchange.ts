import { Bus } from "../../core/bus/bus.ts";
import { ensureTopology } from "../../core/bus/topology.ts";
import { loadConfig } from "../../core/config.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { createToolRegistry } from "../../core/tools/registry.ts";
import type { ToolContext } from "../../core/tools/tool.ts";
import { busPublisher } from "../../hotpath/exchange/publisher.ts";
import { ExchangeRuntime } from "../../hotpath/exchange/runtime.ts";
import { memoryPublisher } from "../../hotpath/exchange/testing.ts";
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
 * Recovery (start → ready) is its own case: bench/cases/exchange-recovery.ts.
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
    ];
  },
};

export default exchangeCase;
