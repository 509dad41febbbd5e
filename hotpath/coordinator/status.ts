import { z } from "zod";
import { type Agent, manifest } from "../../core/agents/manifest.ts";
import { type LiveInstance, readInstances } from "../../adapters/nats/agent-registry.ts";
import { type Bus, isNotFound } from "../../adapters/nats/bus.ts";
import { readStrategySummaries, StrategySummary } from "../../adapters/nats/strategy-summary.ts";
import { callTool } from "../../adapters/nats/tool-transport.ts";
import { consumerName, streamOf } from "../../core/subjects.ts";

export const InstanceStatus = z.object({
  instance_id: z.string(),
  version: z.string(),
  url: z.string().optional(),
  host: z.string().optional(),
  pid: z.number().optional(),
  started_at: z.number(),
  last_seen: z.number(),
  /** Milliseconds since the server stored the last heartbeat. */
  age_ms: z.number(),
});

export const ConsumerStatus = z.object({
  name: z.string(),
  stream: z.string(),
  subject: z.string(),
  /** False until the function's trigger has created its durable consumer. */
  exists: z.boolean(),
  /** Messages on the stream not yet delivered to the consumer. */
  lag: z.number().nullable(),
  /** Delivered, not yet acknowledged. */
  ack_pending: z.number().nullable(),
  redelivered: z.number().nullable(),
  error: z.string().optional(),
});

export const AgentStatus = z.object({
  name: z.string(),
  alias: z.string(),
  title: z.string(),
  kind: z.enum(["service", "function"]),
  /** The URL the newest live instance registered (what it really listens on, port offset included). */
  url: z.string().optional(),
  /** The port of {@link url}; absent while no instance with a URL is live. */
  port: z.number().optional(),
  /** The manifest's port, before BOT4_PORT_OFFSET (services only). */
  manifest_port: z.number().optional(),
  /** `up` while at least one instance heartbeats; `down` otherwise. */
  health: z.enum(["up", "down"]),
  /** Version of the newest instance. */
  version: z.string().nullable(),
  /** Latest heartbeat of any instance (its own clock, ms). */
  last_seen: z.number().nullable(),
  instances: z.array(InstanceStatus),
  tools: z.number().int(),
  consumers: z.array(ConsumerStatus).optional(),
});
export type AgentStatus = z.infer<typeof AgentStatus>;

export const SystemStatus = z.object({
  time: z.number(),
  bus: z.object({ connected: z.boolean(), server: z.string() }),
  /** Whether the agent registry (KV) could be read; when not, every agent shows `down`. */
  registry: z.object({ ok: z.boolean(), error: z.string().optional() }),
  agents: z.array(AgentStatus),
  /**
   * The strategy agent's instances (KV `bot4_strategies`); `unprotected` lists positions left by a
   * stopped or paused strategy, which no stop loss or take profit guards.
   */
  strategies: z
    .object({
      ok: z.boolean(),
      error: z.string().optional(),
      instances: z.array(StrategySummary),
      unprotected: z.array(StrategySummary),
    })
    .optional(),
  /** Firing alerts from the InfraEngineer (`infra.get_alerts`); null while it does not answer. */
  alerts: z
    .array(
      z.object({
        alert: z.string(),
        severity: z.string(),
        summary: z.string(),
        labels: z.record(z.string(), z.string()),
        fired_at: z.number().nullable(),
      }),
    )
    .nullable()
    .optional(),
});
export type SystemStatus = z.infer<typeof SystemStatus>;

/** Rejects with "no answer within …" when `work` takes longer than `ms`. */
function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** Consumer info for one function input, bounded by `timeoutMs` so /status never hangs on JetStream. */
async function consumerStatus(
  bus: Bus,
  fn: string,
  subject: string,
  index: number,
  timeoutMs: number,
): Promise<z.infer<typeof ConsumerStatus>> {
  const name = consumerName(fn, index);
  const stream = streamOf(subject)?.name ?? "?";
  const base = { name, stream, subject };
  const none = { lag: null, ack_pending: null, redelivered: null };
  try {
    const info = await withTimeout(bus.jsm.consumers.info(stream, name), timeoutMs);
    return {
      ...base,
      exists: true,
      lag: info.num_pending,
      ack_pending: info.num_ack_pending,
      redelivered: info.num_redelivered,
    };
  } catch (err) {
    if (isNotFound(err)) return { ...base, exists: false, ...none };
    return { ...base, exists: false, ...none, error: err instanceof Error ? err.message : String(err) };
  }
}

function agentStatus(agent: Agent, mine: readonly LiveInstance[], now: number): AgentStatus {
  const newest = mine.reduce<LiveInstance | undefined>(
    (best, i) => (best === undefined || i.startedAt > best.startedAt ? i : best),
    undefined,
  );
  return {
    name: agent.name,
    alias: agent.alias,
    title: agent.title,
    kind: agent.kind,
    ...registeredAddress(newest),
    ...(agent.kind === "service" ? { manifest_port: agent.port } : {}),
    health: mine.length > 0 ? "up" : "down",
    version: newest?.version ?? null,
    last_seen: mine.length === 0 ? null : Math.max(...mine.map((i) => i.lastSeen)),
    tools: newest?.tools.length ?? 0,
    instances: mine.map((i) => ({
      instance_id: i.instanceId,
      version: i.version,
      ...(i.url !== undefined ? { url: i.url } : {}),
      ...(i.host !== undefined ? { host: i.host } : {}),
      ...(i.pid !== undefined ? { pid: i.pid } : {}),
      started_at: i.startedAt,
      last_seen: i.lastSeen,
      age_ms: Math.max(0, now - i.seenAt),
    })),
  };
}

/** The URL (and its port) an instance registered; nothing when it registered none. */
function registeredAddress(instance: LiveInstance | undefined): { url?: string; port?: number } {
  if (instance?.url === undefined) return {};
  let port: number | undefined;
  try {
    const u = new URL(instance.url);
    port = u.port === "" ? (u.protocol === "https:" ? 443 : 80) : Number(u.port);
  } catch {
    port = undefined;
  }
  return { url: instance.url, ...(port !== undefined ? { port } : {}) };
}

/**
 * Every agent of the manifest with its live instances (from the KV registry) and, for functions,
 * the lag of each durable consumer. JetStream lookups run in parallel with a bound, so an absent or
 * slow JetStream makes the answer say so instead of hanging.
 */
export async function systemStatus(bus: Bus, timeoutMs = 1_000): Promise<SystemStatus> {
  const now = Date.now();
  let instances: LiveInstance[] = [];
  let registry: SystemStatus["registry"] = { ok: true };
  try {
    instances = await withTimeout(readInstances(bus, undefined, now), timeoutMs);
  } catch (err) {
    registry = {
      ok: false,
      error: `agent registry unreadable: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  const alerts = firingAlerts(bus, timeoutMs);
  const agents = await Promise.all(
    (manifest as readonly Agent[]).map(async (agent): Promise<AgentStatus> => {
      const status = agentStatus(
        agent,
        instances.filter((i) => i.agent === agent.name),
        now,
      );
      if (agent.kind !== "function") return status;
      const consumers = await Promise.all(
        agent.consumes.map((subject, i) => consumerStatus(bus, agent.name, subject, i, timeoutMs)),
      );
      return { ...status, consumers };
    }),
  );
  let strategies: SystemStatus["strategies"];
  try {
    const instances = await withTimeout(readStrategySummaries(bus), timeoutMs);
    strategies = { ok: true, instances, unprotected: instances.filter((s) => s.unprotected) };
  } catch (err) {
    strategies = {
      ok: false,
      error: `strategies unreadable: ${err instanceof Error ? err.message : String(err)}`,
      instances: [],
      unprotected: [],
    };
  }
  return {
    time: now,
    bus: { connected: bus.connected, server: bus.nc.getServer() },
    registry,
    agents,
    strategies,
    alerts: await alerts,
  };
}

const FiringAlerts = z.object({ alerts: z.array(SystemStatus.shape.alerts.unwrap().unwrap().element) });

/** The InfraEngineer's firing alerts, or null when it is not running or does not answer in time. */
async function firingAlerts(bus: Bus, timeoutMs: number): Promise<SystemStatus["alerts"]> {
  try {
    const answer = await callTool(bus, "infra", "get_alerts", {}, { timeout: timeoutMs });
    const parsed = FiringAlerts.safeParse(answer);
    return parsed.success ? parsed.data.alerts : null;
  } catch {
    return null;
  }
}
