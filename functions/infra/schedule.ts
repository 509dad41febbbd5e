import { natsBus } from "../../adapters/nats/bus.ts";
import type { Bus } from "../../adapters/nats/bus.ts";
import type { FunctionBackgroundDeps, RunningBackground } from "../../core/functions/contract.ts";
import { events, newEvent } from "../../core/events/catalogue.ts";
import { Gauge, Histogram, type Registry } from "../../core/telemetry/metrics.ts";
import { collect } from "./collect.ts";
import { type DeriveMemory, derive, newMemory, SERIES, type SeriesName } from "./derive.ts";
import type { Sample } from "./promtext.ts";

/** The derived series as gauges on the host's registry, so Prometheus scrapes what the rules read. */
export function exportSeries(registry: Registry): (samples: readonly Sample[]) => void {
  const gauges = new Map<string, Gauge<string>>();
  for (const [name, spec] of Object.entries(SERIES)) {
    gauges.set(
      name,
      new Gauge({ name, help: spec.help, labelNames: [...spec.labels], registers: [registry] }),
    );
  }
  return (samples) => {
    for (const g of gauges.values()) g.reset();
    for (const s of samples) gauges.get(s.name)?.set(s.labels, s.value);
  };
}

export interface Cycle {
  /** One scrape-and-derive, then the tick published; resolves with the time it took. */
  run(): Promise<{ ms: number; samples: number }>;
}

/** One cycle: collect, derive, export, publish the tick (message id per interval slot). */
export function cycleOf(
  bus: Bus,
  options: { intervalMs: number; apiKey?: string | undefined; natsMonitorUrl?: string | undefined },
  exported: (samples: readonly Sample[]) => void,
  memory: DeriveMemory = newMemory(),
  seconds?: Histogram,
): Cycle {
  return {
    async run() {
      const started = performance.now();
      const raw = await collect(bus, {
        apiKey: options.apiKey,
        natsMonitorUrl: options.natsMonitorUrl,
        timeoutMs: Math.max(500, Math.min(2_000, options.intervalMs)),
      });
      const d = derive(raw, memory);
      exported(d.samples);
      const slot = Math.floor(raw.at / options.intervalMs);
      await bus.publishEvent(
        newEvent(events.infra.tick, {
          id: [options.intervalMs, slot],
          source: "infra",
          time: new Date(raw.at),
          data: {
            at: raw.at,
            intervalMs: options.intervalMs,
            samples: d.samples,
            agents: d.agents,
            jetstream: d.jetstream,
            nats: raw.nats,
          },
        }),
      );
      const ms = performance.now() - started;
      seconds?.observe(ms / 1000);
      return { ms, samples: d.samples.length };
    },
  };
}

/**
 * The InfraEngineer's schedule: a timer in the function host running one cycle every
 * INFRA_INTERVAL_MS (a cycle still running when the next is due is not doubled up). In a cloud
 * deployment an EventBridge schedule invoking the same cycle replaces the timer.
 */
export async function startSchedule(deps: FunctionBackgroundDeps<unknown>): Promise<RunningBackground> {
  const bus = natsBus(await deps.bus());
  const intervalMs = deps.config.INFRA_INTERVAL_MS;
  const seconds = new Histogram({
    name: "bot4_infra_cycle_seconds",
    help: "Time of one InfraEngineer scrape-and-evaluate cycle",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [deps.metrics],
  });
  const cycle = cycleOf(
    bus,
    { intervalMs, apiKey: deps.config.BOT4_API_KEYS[0], natsMonitorUrl: deps.config.INFRA_NATS_MONITOR_URL },
    exportSeries(deps.metrics),
    newMemory(),
    seconds,
  );
  let busy = false;
  let failing = false;
  const run = async () => {
    if (busy || !bus.connected) return;
    busy = true;
    try {
      await cycle.run();
      if (failing) deps.logger.info("infra cycle recovered");
      failing = false;
    } catch (err) {
      if (!failing) deps.logger.warn({ err }, "infra cycle failed; retried next interval");
      failing = true;
    } finally {
      busy = false;
    }
  };
  const first = setTimeout(() => void run(), 0);
  const timer = setInterval(() => void run(), intervalMs);
  timer.unref();
  return {
    async stop() {
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}

export type { SeriesName };
