import { Bus } from "../../core/bus/bus.ts";
import { ensureTopology } from "../../core/bus/topology.ts";
import { loadConfig } from "../../core/config.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { createToolRegistry } from "../../core/tools/registry.ts";
import type { ToolContext } from "../../core/tools/tool.ts";
import { busPublisher } from "../../hotpath/exchange/publisher.ts";
import { ExchangeRuntime } from "../../hotpath/exchange/runtime.ts";
import { exchangeTools } from "../../hotpath/exchange/tools.ts";
import { type BenchCase, type BenchResult, measureSequential } from "../harness.ts";

/**
 * Order-submission internal latency: `submit_order` received by the exchange's tool registry → zod
 * input parse → market checks → in-process pre-trade check (core/risk/pretrade.ts, local snapshot) →
 * accepted by the paper venue → order events queued for JetStream → zod output parse. No network on
 * the measured path: events are published to the run's nats-server in the background, as in service.
 *   resting — a limit buy below the market (accepted, rests): the seed's 87 µs figure; target < 50 µs p50.
 *   filled  — market buys and sells alternating (accepted and filled: fills, positions, risk refresh).
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
    const rt = new ExchangeRuntime({ config, logger, publisher, feedTimer: false });
    await rt.start();
    const registry = createToolRegistry("exchange", exchangeTools(rt));
    const context = (i: number): ToolContext => ({
      requestId: `bench-${i}`,
      correlationId: `bench-${i}`,
      transport: "local",
      logger,
    });
    const below = Math.round((rt.paper.price("BTC/USDT") ?? 50_000) * 0.5);
    let n = 0;
    const iterations = Math.max(2_000, Math.round(20_000 * ctx.scale));
    const resting = await measureSequential(() => {
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
    }, iterations);
    await publisher.flush();
    const filled = await measureSequential(() => {
      n += 1;
      return registry.call(
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
    ctx.log(`exchange: ${publisher.published} events published, ${publisher.failures} publish retries`);
    await rt.stop();
    await bus.drain();
    return [
      {
        case: "exchange submit_order → pre-trade → paper accepted (resting limit)",
        unit: "order",
        latency: resting.latency,
        throughput: resting.throughput,
        notes: { target_p50_us: 50, seed_p50_us: 87 },
      },
      {
        case: "exchange submit_order → pre-trade → paper filled (market)",
        unit: "order",
        latency: filled.latency,
        throughput: filled.throughput,
      },
    ];
  },
};

export default exchangeCase;
