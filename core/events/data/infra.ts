import { z } from "zod";

/** The data of the InfraEngineer's command and events (entries in core/events/catalogue.ts). */

export const AlertSeverity = z.enum(["info", "warning", "critical"]);

/** An alert of one rule and one series, as the rules evaluate it. */
export const AlertState = z.object({
  /** `<alert>{k="v",…}`: one per rule and series. */
  id: z.string(),
  alert: z.string(),
  severity: AlertSeverity,
  labels: z.record(z.string(), z.string()),
  state: z.enum(["pending", "firing"]),
  value: z.number(),
  summary: z.string(),
  runbook: z.string(),
  /** When the condition started holding (event time of the tick, ms). */
  activeAt: z.number(),
  firedAt: z.number().nullable(),
  /** Last evaluation at which the condition held. */
  lastTrueAt: z.number(),
});
export type AlertState = z.infer<typeof AlertState>;

/** alert.firing on `events.infra.alert`: an alert that started firing. */
export const AlertFiring = AlertState.extend({ state: z.literal("firing") });
export type AlertFiring = z.infer<typeof AlertFiring>;

/** alert.resolved on `events.infra.alert`: a firing alert whose condition stopped holding. */
export const AlertResolved = AlertState.extend({ state: z.literal("resolved"), resolvedAt: z.number() });
export type AlertResolved = z.infer<typeof AlertResolved>;

export const AgentHealth = z.object({
  agent: z.string(),
  kind: z.enum(["service", "function"]),
  instances: z.number().int(),
  versions: z.array(z.string()),
  heartbeatAgeS: z.number().nullable(),
  seen: z.boolean(),
  scrape: z.enum(["ok", "failed", "none"]),
  eventLoopLagP99S: z.number().nullable(),
  rssBytes: z.number().nullable(),
  toolErrorRatio: z.number().nullable(),
  toolP99S: z.number().nullable(),
});
export type AgentHealth = z.infer<typeof AgentHealth>;

/** One stream as the infra function reads it from the NATS monitoring endpoint. */
export const StreamStat = z.object({
  name: z.string(),
  messages: z.number(),
  bytes: z.number(),
  consumers: z.number(),
});

/** One durable consumer: its backlog and redeliveries. */
export const ConsumerStat = z.object({
  stream: z.string(),
  name: z.string(),
  pending: z.number(),
  ackPending: z.number(),
  redelivered: z.number(),
});

export const JetStreamSummary = z.object({
  streams: z.array(StreamStat),
  consumers: z.array(ConsumerStat),
  dlqMessages: z.number(),
  storage: z.object({ used: z.number(), limit: z.number().nullable() }).nullable(),
});
export type JetStreamSummary = z.infer<typeof JetStreamSummary>;

/** One Prometheus sample: a series name, its labels and its value. */
export const MetricSample = z.object({
  name: z.string(),
  labels: z.record(z.string(), z.string()),
  value: z.number(),
});

/** The nats-server's own figures, from its monitoring endpoint (`/varz`). */
export const NatsSummary = z.object({
  slowConsumers: z.number(),
  connections: z.number(),
  memBytes: z.number(),
  cpu: z.number(),
  version: z.string(),
});

/** infra.tick on `cmd.infra.tick` (COMMANDS): one scrape of the system, derived into series and health. */
export const Tick = z.object({
  at: z.number().int(),
  intervalMs: z.number().int().positive(),
  samples: z.array(MetricSample),
  agents: z.array(AgentHealth),
  jetstream: JetStreamSummary,
  nats: NatsSummary.nullable(),
});
export type Tick = z.infer<typeof Tick>;
