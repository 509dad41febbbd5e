import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Bus } from "../../adapters/nats/bus.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { loadConfig } from "../../core/config.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { createToolRegistry } from "../../core/tools/registry.ts";
import type { ToolContext } from "../../core/tools/tool.ts";
import { Journal } from "../../hotpath/exchange/journal.ts";
import { busPublisher } from "../../hotpath/exchange/publisher.ts";
import { ExchangeRuntime } from "../../hotpath/exchange/runtime.ts";
import { memoryPublisher } from "../../hotpath/exchange/testing.ts";
import { exchangeTools } from "../../hotpath/exchange/tools.ts";
import { type BenchCase, type BenchResult, measureInterleaved, measureSequential } from "../harness.ts";

/**
 * Order submission: `submit_order` received by the exchange's tool registry → zod input parse → market
 * checks → in-process pre-trade check (local snapshot) → accepted by the paper venue → zod output.
 *   durable   — the service's path: answered once the order's events are written to the journal
 *               (one write per turn), JetStream storing them after.
 *   fsync     — the same with EXCHANGE_JOURNAL_FSYNC=always (fdatasync before the answer).
 *   acked     — answered once JetStream acked the events (no journal; the path before the journal):
 *               the events of one order go out in one window and their acks are awaited together.
 *   in-memory — the same path with a publisher that stores nothing (what the seed measured).
 *   floor     — one JetStream publish and its ack on the same connection.
 *   All five interleaved in one run.
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
    const dir = mkdtempSync(join(tmpdir(), "bot4-bench-journal-"));
    const journal = Journal.open({ dir: join(dir, "off") }, logger).journal;
    const synced = Journal.open({ dir: join(dir, "always"), fsync: "always" }, logger).journal;
    const publisher = busPublisher(bus, logger, { journal });
    const fsyncPublisher = busPublisher(bus, logger, { journal: synced });
    const ackedPublisher = busPublisher(bus, logger);
    const config = loadConfig({ PAPER_BALANCES: "USDT:1000000000,BTC:1000", PAPER_SYMBOLS: "BTC/USDT" });
    const runtimes = [publisher, fsyncPublisher, ackedPublisher, memoryPublisher()].map(
      (p) => new ExchangeRuntime({ config, logger, publisher: p, feedTimer: false }),
    );
    for (const rt of runtimes) await rt.start();
    const durable = runtimes[0] as ExchangeRuntime;
    const registries = runtimes.map((rt) => createToolRegistry("exchange", exchangeTools(rt)));
    const context = (i: number): ToolContext => ({
      requestId: `bench-${i}`,
      correlationId: `bench-${i}`,
      transport: "local",
      logger,
    });
    // Below the market (a resting order) and inside the pre-trade price band (5 %).
    const below = Math.round((durable.paper.price("BTC/USDT") ?? 50_000) * 0.97);
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
    const [dur, fsy, ack, mem, flo] = await measureInterleaved(
      [...registries.map((r) => resting(r)), floor],
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
    for (const p of [publisher, fsyncPublisher, ackedPublisher]) await p.flush();
    ctx.log(
      `exchange: ${publisher.published} events stored, ${publisher.failures} publish retries, journal ${journal.bytes} bytes after the acks`,
    );
    for (const rt of runtimes) await rt.stop();
    journal.close();
    synced.close();
    rmSync(dir, { recursive: true, force: true });
    await bus.drain();
    const ratio = (r: typeof dur) =>
      Math.round(((r?.latency.p50_us ?? 0) / (flo?.latency.p50_us ?? 1)) * 100) / 100;
    return [
      {
        case: "exchange submit_order → pre-trade → paper accepted, durable (events journaled; the service's path)",
        unit: "order",
        latency: dur?.latency,
        throughput: dur?.throughput,
        notes: { ratio_to_floor_p50: ratio(dur), target: "≤ 100 µs or ≤ 1.3× floor" },
      },
      {
        case: "exchange submit_order → pre-trade → paper accepted, durable, journal fdatasync'ed (EXCHANGE_JOURNAL_FSYNC=always)",
        unit: "order",
        latency: fsy?.latency,
        throughput: fsy?.throughput,
        notes: { ratio_to_floor_p50: ratio(fsy) },
      },
      {
        case: "exchange submit_order → pre-trade → paper accepted, answered after JetStream's acks (no journal)",
        unit: "order",
        latency: ack?.latency,
        throughput: ack?.throughput,
        notes: { ratio_to_floor_p50: ratio(ack) },
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
