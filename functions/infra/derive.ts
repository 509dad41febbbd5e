import { z } from "zod";
import { type Agent, manifest } from "../../core/agents/manifest.ts";
import {
  type AgentHealth,
  ConsumerStat,
  type JetStreamSummary,
  MetricSample,
  NatsSummary,
  StreamStat,
} from "../../core/events/data/infra.ts";
import type { Sample } from "./promtext.ts";

/**
 * From one raw observation of the system (registry, scraped `/metrics`, JetStream, nats-server) to
 * the InfraEngineer's series `bot4_infra_*`, which the alert rules read — the same series the
 * function host exports on its `/metrics`, so Prometheus evaluates the same rules on the same
 * numbers. Rates and quantiles need the previous scrape of each instance (counters are cumulative),
 * and "lag growing" needs a short history per consumer: both live in {@link DeriveMemory}, which the
 * collector keeps between cycles. Everything here is pure given that memory.
 */

/** Every derived series: name, labels, help. The Prometheus exporter and the dashboard come from this. */
export const SERIES = {
  bot4_infra_agent_up: {
    labels: ["agent"],
    help: "Live instances of an agent in the registry (agents seen since the InfraEngineer started)",
  },
  bot4_infra_heartbeat_age_seconds: {
    labels: ["agent"],
    help: "Seconds since the freshest heartbeat of an agent",
  },
  bot4_infra_scrape_ok: { labels: ["agent"], help: "1 when every instance's /metrics answered this cycle" },
  bot4_infra_tool_error_ratio: {
    labels: ["agent"],
    help: "Share of tool calls failing (internal error, timeout, unavailable) since the last cycle",
  },
  bot4_infra_tool_p99_seconds: {
    labels: ["agent"],
    help: "Tool-call latency p99 since the last cycle (from the histogram buckets)",
  },
  bot4_infra_tool_p99_slo_ratio: {
    labels: ["agent"],
    help: "Tool-call p99 divided by the agent's latency SLO",
  },
  bot4_infra_event_loop_lag_p99_seconds: {
    labels: ["agent"],
    help: "Event-loop lag p99 of the agent's process",
  },
  bot4_infra_rss_bytes: { labels: ["agent"], help: "Resident memory of the agent's process" },
  bot4_infra_stream_messages: { labels: ["stream"], help: "Messages stored in a JetStream stream" },
  bot4_infra_stream_bytes: { labels: ["stream"], help: "Bytes stored in a JetStream stream" },
  bot4_infra_consumer_pending: {
    labels: ["stream", "consumer"],
    help: "Messages not yet delivered to a consumer (num_pending)",
  },
  bot4_infra_consumer_ack_pending: {
    labels: ["stream", "consumer"],
    help: "Delivered, not yet acknowledged (num_ack_pending)",
  },
  bot4_infra_consumer_redelivered: {
    labels: ["stream", "consumer"],
    help: "Messages redelivered at least once (num_redelivered)",
  },
  bot4_infra_consumer_lag: {
    labels: ["stream", "consumer"],
    help: "Unprocessed messages of a consumer: pending + ack pending",
  },
  bot4_infra_consumer_lag_growth: {
    labels: ["stream", "consumer"],
    help: "Lag now minus its lowest value over the last lag window",
  },
  bot4_infra_dlq_messages: { labels: [], help: "Dead letters on the DLQ stream" },
  bot4_infra_jetstream_storage_ratio: {
    labels: [],
    help: "JetStream file storage used / its limit (when a limit is known)",
  },
  bot4_infra_jetstream_storage_bytes: { labels: [], help: "JetStream file storage used" },
  bot4_infra_nats_slow_consumers: { labels: [], help: "nats-server slow consumers (monitoring endpoint)" },
} as const satisfies Record<string, { labels: readonly string[]; help: string }>;
export type SeriesName = keyof typeof SERIES;

/** Tool-call p99 objectives per agent, seconds; the ToolLatencyOverSlo rule compares against these. */
export const TOOL_P99_SLO_SECONDS: Readonly<Record<string, number>> = {
  coordinator: 0.5,
  risk: 0.25,
  exchange: 0.25,
  inference: 0.5,
};
/** Functions run backtests and validations: their tools get a wider objective. */
export const FUNCTION_P99_SLO_SECONDS = 5;
/** The window over which "lag growing" compares the lag with its low. */
export const LAG_WINDOW_MS = 30_000;
/** Fewer calls than this in a cycle say nothing about an error rate. */
export const MIN_CALLS_FOR_RATE = 5;

/** Outcomes of `bot4_tool_calls_total` that count as failures of the agent (not of the caller). */
const FAILING = new Set(["error", "timeout", "unavailable"]);

export const RawObservation = z.object({
  at: z.number().int(),
  instances: z.array(
    z.object({
      agent: z.string(),
      instanceId: z.string(),
      version: z.string(),
      kind: z.enum(["service", "function"]),
      url: z.string().optional(),
      ageMs: z.number(),
    }),
  ),
  /** One per instance with a URL: its samples, or why the scrape failed. */
  scrapes: z.array(
    z.object({
      agent: z.string(),
      instanceId: z.string(),
      ok: z.boolean(),
      error: z.string().optional(),
      samples: z.array(MetricSample),
    }),
  ),
  streams: z.array(StreamStat),
  consumers: z.array(ConsumerStat),
  storage: z.object({ used: z.number(), limit: z.number().nullable() }).nullable(),
  nats: NatsSummary.nullable(),
});
export type RawObservation = z.infer<typeof RawObservation>;

/** What the collector keeps between cycles. */
export interface DeriveMemory {
  /** Agents seen in the registry since start: only these can be "down". */
  seen: Set<string>;
  /** Per instance, the cumulative tool counters and latency buckets of its last scrape. */
  counters: Map<string, { calls: number; failed: number; buckets: Map<number, number> }>;
  /** Per consumer (`stream/name`), its recent lags. */
  lags: Map<string, { at: number; lag: number }[]>;
}

export const newMemory = (): DeriveMemory => ({ seen: new Set(), counters: new Map(), lags: new Map() });

export { AgentHealth, JetStreamSummary } from "../../core/events/data/infra.ts";

const find = (samples: readonly Sample[], name: string) => samples.find((s) => s.name === name)?.value;

/** histogram_quantile over cumulative bucket counts (upper bound → count), with linear interpolation. */
export function quantile(q: number, buckets: ReadonlyMap<number, number>): number | undefined {
  const les = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Number.POSITIVE_INFINITY) ?? buckets.get(les[les.length - 1] as number) ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const le of les) {
    const count = buckets.get(le) as number;
    if (count >= rank) {
      if (le === Number.POSITIVE_INFINITY) return prevLe;
      if (count === prevCount) return le;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / (count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

/** Tool counters of one scrape: calls, failed calls, latency buckets summed over tools and transports. */
function toolCounters(samples: readonly Sample[]) {
  let calls = 0;
  let failed = 0;
  const buckets = new Map<number, number>();
  for (const s of samples) {
    if (s.name === "bot4_tool_calls_total") {
      calls += s.value;
      if (FAILING.has(s.labels.outcome ?? "")) failed += s.value;
    } else if (s.name === "bot4_tool_call_seconds_bucket") {
      const le = s.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(s.labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + s.value);
    }
  }
  return { calls, failed, buckets };
}

/** The series, and each agent's health and JetStream's state, for one observation. */
export function derive(
  raw: RawObservation,
  memory: DeriveMemory,
): { samples: Sample[]; agents: AgentHealth[]; jetstream: JetStreamSummary } {
  const out: Sample[] = [];
  const push = (name: SeriesName, labels: Record<string, string>, value: number) => {
    if (Number.isFinite(value)) out.push({ name, labels, value });
  };
  for (const i of raw.instances) memory.seen.add(i.agent);
  const agents: AgentHealth[] = [];
  for (const a of manifest as readonly Agent[]) {
    const mine = raw.instances.filter((i) => i.agent === a.name);
    const scrapes = raw.scrapes.filter((s) => s.agent === a.name);
    const seen = memory.seen.has(a.name);
    if (seen) push("bot4_infra_agent_up", { agent: a.name }, mine.length);
    const age = mine.length === 0 ? null : Math.min(...mine.map((i) => i.ageMs)) / 1000;
    if (age !== null) push("bot4_infra_heartbeat_age_seconds", { agent: a.name }, age);
    const scrapeOk = scrapes.length === 0 ? null : scrapes.every((s) => s.ok);
    if (scrapeOk !== null) push("bot4_infra_scrape_ok", { agent: a.name }, scrapeOk ? 1 : 0);
    // Rates over the cycle, summed over the agent's instances.
    let dCalls = 0;
    let dFailed = 0;
    const dBuckets = new Map<number, number>();
    let lag: number | undefined;
    let rss: number | undefined;
    for (const s of scrapes) {
      if (!s.ok) continue;
      const now = toolCounters(s.samples);
      const key = `${a.name}/${s.instanceId}`;
      const before = memory.counters.get(key);
      memory.counters.set(key, now);
      lag = Math.max(lag ?? 0, find(s.samples, "nodejs_eventloop_lag_p99_seconds") ?? 0);
      rss = Math.max(rss ?? 0, find(s.samples, "process_resident_memory_bytes") ?? 0);
      if (before === undefined) continue;
      // A counter below its last value means the instance restarted: count from zero.
      const reset = now.calls < before.calls;
      dCalls += reset ? now.calls : now.calls - before.calls;
      dFailed += reset ? now.failed : now.failed - before.failed;
      for (const [le, c] of now.buckets) {
        const d = reset ? c : c - (before.buckets.get(le) ?? 0);
        dBuckets.set(le, (dBuckets.get(le) ?? 0) + Math.max(0, d));
      }
    }
    const errorRatio = dCalls >= MIN_CALLS_FOR_RATE ? dFailed / dCalls : null;
    if (errorRatio !== null) push("bot4_infra_tool_error_ratio", { agent: a.name }, errorRatio);
    const p99 = dCalls > 0 ? (quantile(0.99, dBuckets) ?? null) : null;
    if (p99 !== null) {
      push("bot4_infra_tool_p99_seconds", { agent: a.name }, p99);
      const slo = TOOL_P99_SLO_SECONDS[a.name] ?? (a.kind === "function" ? FUNCTION_P99_SLO_SECONDS : 0.5);
      push("bot4_infra_tool_p99_slo_ratio", { agent: a.name }, p99 / slo);
    }
    if (lag !== undefined) push("bot4_infra_event_loop_lag_p99_seconds", { agent: a.name }, lag);
    if (rss !== undefined) push("bot4_infra_rss_bytes", { agent: a.name }, rss);
    agents.push({
      agent: a.name,
      kind: a.kind,
      instances: mine.length,
      versions: [...new Set(mine.map((i) => i.version))].sort(),
      heartbeatAgeS: age,
      seen,
      scrape: scrapeOk === null ? "none" : scrapeOk ? "ok" : "failed",
      eventLoopLagP99S: lag ?? null,
      rssBytes: rss ?? null,
      toolErrorRatio: errorRatio,
      toolP99S: p99,
    });
  }
  // Instances gone from the registry take their counters with them.
  const live = new Set(raw.instances.map((i) => `${i.agent}/${i.instanceId}`));
  for (const key of memory.counters.keys()) if (!live.has(key)) memory.counters.delete(key);

  for (const s of raw.streams) {
    push("bot4_infra_stream_messages", { stream: s.name }, s.messages);
    push("bot4_infra_stream_bytes", { stream: s.name }, s.bytes);
  }
  const dlq = raw.streams.find((s) => s.name === "DLQ")?.messages ?? 0;
  push("bot4_infra_dlq_messages", {}, dlq);
  const present = new Set<string>();
  for (const c of raw.consumers) {
    const labels = { stream: c.stream, consumer: c.name };
    const key = `${c.stream}/${c.name}`;
    present.add(key);
    const lagNow = c.pending + c.ackPending;
    const history = (memory.lags.get(key) ?? []).filter((h) => raw.at - h.at <= LAG_WINDOW_MS);
    history.push({ at: raw.at, lag: lagNow });
    memory.lags.set(key, history);
    push("bot4_infra_consumer_pending", labels, c.pending);
    push("bot4_infra_consumer_ack_pending", labels, c.ackPending);
    push("bot4_infra_consumer_redelivered", labels, c.redelivered);
    push("bot4_infra_consumer_lag", labels, lagNow);
    push("bot4_infra_consumer_lag_growth", labels, lagNow - Math.min(...history.map((h) => h.lag)));
  }
  for (const key of memory.lags.keys()) if (!present.has(key)) memory.lags.delete(key);
  if (raw.storage !== null) {
    push("bot4_infra_jetstream_storage_bytes", {}, raw.storage.used);
    if (raw.storage.limit !== null && raw.storage.limit > 0) {
      push("bot4_infra_jetstream_storage_ratio", {}, raw.storage.used / raw.storage.limit);
    }
  }
  if (raw.nats !== null) push("bot4_infra_nats_slow_consumers", {}, raw.nats.slowConsumers);
  return {
    samples: out,
    agents,
    jetstream: { streams: raw.streams, consumers: raw.consumers, dlqMessages: dlq, storage: raw.storage },
  };
}
