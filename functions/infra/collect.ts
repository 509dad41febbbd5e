import { readInstances } from "../../adapters/nats/agent-registry.ts";
import type { Bus } from "../../adapters/nats/bus.ts";
import type { RawObservation } from "./derive.ts";
import { parsePrometheusText, type Sample } from "./promtext.ts";

/**
 * One look at the running system, all I/O: the registry (KV heartbeats), every instance's
 * `/metrics` (the URLs the registry gives), every JetStream stream and consumer, JetStream's account
 * storage, and nats-server's monitoring endpoint when one is configured. Every lookup is bounded by
 * `timeoutMs`; what fails is reported as failed, never thrown.
 */

/** The scraped metrics the derivation reads (the rest of each exposition is dropped at once). */
const KEPT = new Set([
  "bot4_tool_calls_total",
  "bot4_tool_call_seconds_bucket",
  "nodejs_eventloop_lag_p99_seconds",
  "process_resident_memory_bytes",
]);

export interface CollectOptions {
  apiKey?: string | undefined;
  natsMonitorUrl?: string | undefined;
  timeoutMs?: number;
}

function bounded<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

async function scrape(url: string, options: CollectOptions): Promise<Sample[]> {
  const headers: Record<string, string> = {};
  if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;
  const res = await fetch(`${url}/metrics`, {
    headers,
    signal: AbortSignal.timeout(options.timeoutMs ?? 2_000),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return parsePrometheusText(await res.text()).filter((s) => KEPT.has(s.name));
}

export async function collect(bus: Bus, options: CollectOptions = {}): Promise<RawObservation> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const at = Date.now();
  const instances = await bounded(readInstances(bus, undefined, at), timeoutMs).catch(() => []);
  const scrapes = await Promise.all(
    instances
      .filter((i) => i.url !== undefined)
      .map(async (i) => {
        try {
          return {
            agent: i.agent,
            instanceId: i.instanceId,
            ok: true,
            samples: await scrape(i.url as string, options),
          };
        } catch (err) {
          return {
            agent: i.agent,
            instanceId: i.instanceId,
            ok: false,
            error: err instanceof Error ? err.message : String(err),
            samples: [],
          };
        }
      }),
  );
  const streams: RawObservation["streams"] = [];
  const consumers: RawObservation["consumers"] = [];
  try {
    await bounded(
      (async () => {
        for await (const si of bus.jsm.streams.list()) {
          streams.push({
            name: si.config.name,
            messages: si.state.messages,
            bytes: si.state.bytes,
            consumers: si.state.consumer_count,
          });
        }
        await Promise.all(
          streams.map(async (s) => {
            for await (const ci of bus.jsm.consumers.list(s.name)) {
              // Durable consumers only: ephemeral ordered ones (KV watches, key listings) come and go.
              if (ci.config.durable_name === undefined) continue;
              consumers.push({
                stream: s.name,
                name: ci.name,
                pending: ci.num_pending,
                ackPending: ci.num_ack_pending,
                redelivered: ci.num_redelivered,
              });
            }
          }),
        );
      })(),
      timeoutMs,
    );
  } catch {
    // A JetStream that does not answer shows as no streams this cycle (agents still report).
  }
  let storage: RawObservation["storage"] = null;
  let nats: RawObservation["nats"] = null;
  try {
    const info = await bounded(bus.jsm.getAccountInfo(), timeoutMs);
    const limit = info.limits.max_storage;
    storage = { used: info.storage, limit: limit > 0 ? limit : null };
  } catch {
    storage = null;
  }
  if (options.natsMonitorUrl !== undefined) {
    try {
      const res = await fetch(`${options.natsMonitorUrl}/varz`, { signal: AbortSignal.timeout(timeoutMs) });
      const v = (await res.json()) as {
        slow_consumers?: number;
        connections?: number;
        mem?: number;
        cpu?: number;
        version?: string;
        jetstream?: { config?: { max_storage?: number }; stats?: { storage?: number } };
      };
      nats = {
        slowConsumers: v.slow_consumers ?? 0,
        connections: v.connections ?? 0,
        memBytes: v.mem ?? 0,
        cpu: v.cpu ?? 0,
        version: v.version ?? "?",
      };
      const max = v.jetstream?.config?.max_storage;
      const used = v.jetstream?.stats?.storage;
      if (typeof max === "number" && max > 0 && typeof used === "number") storage = { used, limit: max };
    } catch {
      nats = null;
    }
  }
  return {
    at,
    instances: instances.map((i) => ({
      agent: i.agent,
      instanceId: i.instanceId,
      version: i.version,
      kind: i.kind,
      ...(i.url !== undefined ? { url: i.url } : {}),
      ageMs: Math.max(0, at - i.seenAt),
    })),
    scrapes,
    streams,
    consumers,
    storage,
    nats,
  };
}
