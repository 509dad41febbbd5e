import { Counter, Gauge, Histogram, LATENCY_BUCKETS, type Registry } from "../../core/telemetry/metrics.ts";

/** Outcomes of one message through the trigger. */
export const MessageOutcome = [
  "processed",
  "retried",
  "dead_lettered",
  "schema_rejected",
  "duplicate_skipped",
  "requeued",
] as const;
export type MessageOutcome = (typeof MessageOutcome)[number];

/** The trigger's Prometheus metrics (one set per registry, shared by every function it runs). */
export function triggerMetrics(registry: Registry) {
  const existing = registry.getSingleMetric("bot4_trigger_messages_total");
  if (existing !== undefined) {
    throw new Error(
      "trigger metrics are already registered on this registry: create them once and share them",
    );
  }
  return {
    messages: new Counter({
      name: "bot4_trigger_messages_total",
      help: "Messages through the trigger by function, consumer and outcome",
      labelNames: ["function", "consumer", "outcome"] as const,
      registers: [registry],
    }),
    outputs: new Counter({
      name: "bot4_trigger_outputs_total",
      help: "Events, records and objects published for functions",
      labelNames: ["function", "kind"] as const,
      registers: [registry],
    }),
    invocations: new Counter({
      name: "bot4_trigger_invocations_total",
      help: "Function invocations by function, invoker and outcome",
      labelNames: ["function", "invoker", "outcome"] as const,
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: "bot4_trigger_batch_seconds",
      help: "Time from taking a batch to settling it (invoke, publish, save state, ack)",
      labelNames: ["function"] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: "bot4_trigger_batch_size",
      help: "Messages per batch",
      labelNames: ["function"] as const,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers: [registry],
    }),
    pending: new Gauge({
      name: "bot4_trigger_consumer_pending",
      help: "Messages of the consumer's filter not yet delivered (lag), as of the last message",
      labelNames: ["function", "consumer"] as const,
      registers: [registry],
    }),
  };
}
export type TriggerMetrics = ReturnType<typeof triggerMetrics>;
