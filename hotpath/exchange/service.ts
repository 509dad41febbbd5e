import { findAgent, type ServiceAgent } from "../../core/agents/manifest.ts";
import { Gauge } from "../../core/telemetry/metrics.ts";
import { createToolRegistry } from "../../core/tools/registry.ts";
import { childWith } from "../../core/telemetry/log.ts";
import { startService } from "../kit/service.ts";
import type { RunningService, ServeOptions, ServiceDeps } from "../kit/types.ts";
import { startJournal } from "./journal-replay.ts";
import { busPublisher } from "./publisher.ts";
import { lastBars, readTradeHistory } from "./recovery.ts";
import { ExchangeRuntime, type ExchangeRuntimeOptions } from "./runtime.ts";
import { SnapshotStore } from "../../core/exchange-state/snapshot.ts";
import { Snapshotter } from "./snapshotter.ts";
import { exchangeTools } from "./tools.ts";

const agent = findAgent("exchange") as ServiceAgent;

/** Test and bench hooks; the launcher passes none. */
export type ExchangeOptions = Partial<
  Pick<
    ExchangeRuntimeOptions,
    | "venues"
    | "feedTimer"
    | "streamsMode"
    | "reconcileDelayMs"
    | "streamBackoffMs"
    | "env"
    | "durableTimeoutMs"
  >
> & { onRuntime?: (rt: ExchangeRuntime) => void };

/**
 * The ExchangeSpec service (`exchange`, :8083): the paper venue (default) and the ccxt venues of
 * EXCHANGE_VENUES behind one order manager with in-process pre-trade risk, order/fill/position events,
 * market streams, smart routing and per-venue rate limits.
 */
export function start(deps: ServiceDeps, options?: ServeOptions): Promise<RunningService> {
  return startExchange(deps, options);
}

export async function startExchange(
  deps: ServiceDeps,
  options: ServeOptions = {},
  exchange: ExchangeOptions = {},
): Promise<RunningService> {
  const logger = childWith(deps.logger, { agent: agent.name });
  // Before anything else: what the journal holds and JetStream may not goes into JetStream, so the
  // recovery below reads every order ever acknowledged.
  const journal = await startJournal(deps.bus, deps.config, logger);
  const publisher = busPublisher(deps.bus, logger, { journal: journal.journal });
  const rt = new ExchangeRuntime({
    config: deps.config,
    logger,
    publisher,
    ...(exchange.venues !== undefined ? { venues: exchange.venues } : {}),
    ...(exchange.feedTimer !== undefined ? { feedTimer: exchange.feedTimer } : {}),
    ...(exchange.streamsMode !== undefined ? { streamsMode: exchange.streamsMode } : {}),
    ...(exchange.reconcileDelayMs !== undefined ? { reconcileDelayMs: exchange.reconcileDelayMs } : {}),
    ...(exchange.streamBackoffMs !== undefined ? { streamBackoffMs: exchange.streamBackoffMs } : {}),
    ...(exchange.env !== undefined ? { env: exchange.env } : {}),
    ...(exchange.durableTimeoutMs !== undefined ? { durableTimeoutMs: exchange.durableTimeoutMs } : {}),
  });
  exchange.onRuntime?.(rt);
  await rt.risk.watch(deps.bus);
  let snapshots: Snapshotter | undefined;
  try {
    // Recovery before anything is served: the previous runs' orders, fills, positions, wallet, bars —
    // the snapshot plus the events after it (or every event when there is no usable snapshot).
    const store = await SnapshotStore.open(deps.bus);
    const history = await readTradeHistory(deps.bus, logger, store);
    rt.recover(history, await lastBars(deps.bus, rt.paper.name, rt.paper.symbols()));
    logger.info(
      {
        source: history.source,
        snapshotSeq: history.snapshotSeq,
        messages: history.messages,
        orders: history.orders.length,
        fills: history.fills.length,
        ms: Math.round(history.ms),
        loadMs: Math.round(history.loadMs),
        replayMs: Math.round(history.replayMs),
      },
      "exchange state recovered from EVENTS",
    );
    snapshots = new Snapshotter({
      bus: deps.bus,
      store,
      fold: history.fold,
      logger,
      lastSeq: () => publisher.lastSeq,
      unsaved: history.messages,
      savedSeq: history.snapshotSeq,
    });
    snapshots.start();
    const running = snapshots;
    await rt.start();
    return await startService(
      {
        agent,
        registry: createToolRegistry(agent.name, exchangeTools(rt)),
        ready: () => rt.oms.state(rt.defaultVenue) === "up" && publisher.available,
        metrics: (registry) => {
          new Gauge({
            name: "bot4_exchange_venue_up",
            help: "1 when a venue accepts orders (up), 0 otherwise",
            labelNames: ["venue"] as const,
            registers: [registry],
            collect() {
              for (const name of rt.venues.keys())
                this.set({ venue: name }, rt.oms.state(name) === "up" ? 1 : 0);
            },
          });
          new Gauge({
            name: "bot4_exchange_open_orders",
            help: "Open orders tracked per venue",
            labelNames: ["venue"] as const,
            registers: [registry],
            collect() {
              for (const name of rt.venues.keys())
                this.set({ venue: name }, rt.oms.list({ venue: name, open: true }).length);
            },
          });
          new Gauge({
            name: "bot4_exchange_events_pending",
            help: "Order/fill/market events waiting to be published",
            registers: [registry],
            collect() {
              this.set(publisher.pending);
            },
          });
        },
        onStop: async () => {
          await rt.stop();
          await publisher.flush();
          journal.close();
          await running.final();
        },
      },
      deps,
      options,
    );
  } catch (err) {
    snapshots?.stop();
    await rt.stop();
    journal.close();
    throw err;
  }
}
