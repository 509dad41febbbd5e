import { hostname } from "node:os";
import { z } from "zod";
import {
  HEARTBEAT_INTERVAL_MS,
  agentInstanceKey,
  agentInstanceKeys,
  kvBuckets,
} from "../../core/subjects.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import type { Bus } from "./bus.ts";

/** A tool as the registry carries it: the `/tools` descriptor (JSON Schemas from zod). */
export const RegisteredTool = z.object({
  name: z.string(),
  description: z.string(),
  inputSchema: z.record(z.string(), z.unknown()),
  outputSchema: z.record(z.string(), z.unknown()),
});
export type RegisteredTool = z.infer<typeof RegisteredTool>;

/**
 * One running instance of an agent, as it heartbeats into {@link kvBuckets.agents} under
 * `<agent>.<instanceId>`. Service agents (the kit) and function agents (the trigger) write the same
 * shape, so the coordinator lists and routes to both alike. Times are integer UTC milliseconds.
 */
export const AgentInstance = z.object({
  agent: z.string().min(1),
  instanceId: z.string().min(1),
  kind: z.enum(["service", "function"]),
  version: z.string(),
  /** The instance's tools with their JSON Schemas (the coordinator's MCP listing comes from here). */
  tools: z.array(RegisteredTool),
  startedAt: z.number().int(),
  lastSeen: z.number().int(),
  /** The instance's HTTP base URL, when it has one. */
  url: z.string().optional(),
  pid: z.number().int().optional(),
  host: z.string().optional(),
});
export type AgentInstance = z.infer<typeof AgentInstance>;

/** The version an instance reports unless it names its own: the package's (npm sets it), else 0.1.0. */
export const processVersion = process.env.npm_package_version ?? "0.1.0";

/** What an instance says about itself; the process fills in its pid, host name, and by default version and start. */
export interface InstanceFacts {
  agent: string;
  instanceId: string;
  kind: AgentInstance["kind"];
  tools: RegisteredTool[];
  version?: string;
  startedAt?: number;
  url?: string;
}

/** The one way a service or a function of this process joins the registry: its entry, kept fresh. */
export function startInstanceHeartbeat(
  bus: Bus,
  facts: InstanceFacts,
  logger: Logger,
  intervalMs = HEARTBEAT_INTERVAL_MS,
): Promise<Heartbeat> {
  const { version = processVersion, startedAt = Date.now(), url, ...rest } = facts;
  const entry: Omit<AgentInstance, "lastSeen"> = {
    ...rest,
    version,
    startedAt,
    pid: process.pid,
    host: hostname(),
  };
  if (url !== undefined) entry.url = url;
  return startHeartbeat(bus, entry, logger, intervalMs);
}

export interface Heartbeat {
  /** Writes the entry now (the first beat is awaited by whoever starts the heartbeat). */
  beat(): Promise<void>;
  /** Stops beating and deletes the entry, so the instance leaves the registry at once. */
  stop(): Promise<void>;
}

/**
 * Keeps an instance's registry entry fresh: one put every {@link HEARTBEAT_INTERVAL_MS}, well inside
 * the bucket's ttl, so an instance that dies disappears within the ttl. Failed beats are logged and
 * retried on the next tick; they never throw into the caller.
 */
export async function startHeartbeat(
  bus: Bus,
  entry: Omit<AgentInstance, "lastSeen">,
  logger: Logger,
  intervalMs = HEARTBEAT_INTERVAL_MS,
): Promise<Heartbeat> {
  const key = agentInstanceKey(entry.agent, entry.instanceId);
  let failing = false;
  let stopped = false;
  const beat = async () => {
    if (stopped || !bus.connected) return;
    try {
      const kv = await bus.kv(kvBuckets.agents);
      await kv.put(key, bus.encode({ ...entry, lastSeen: Date.now() } satisfies AgentInstance));
      if (failing) logger.info({ key }, "registry heartbeat recovered");
      failing = false;
    } catch (err) {
      if (!failing) logger.warn({ err, key }, "registry heartbeat failed");
      failing = true;
    }
  };
  await beat();
  const timer = setInterval(() => void beat(), intervalMs);
  timer.unref();
  return {
    beat,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      if (!bus.connected) return;
      try {
        const kv = await bus.kv(kvBuckets.agents);
        await kv.delete(key);
      } catch (err) {
        logger.warn({ err, key }, "could not remove the registry entry; it expires with the bucket ttl");
      }
    },
  };
}

/** A registry entry with the server's write time, which decides liveness (no cross-host clock skew). */
export interface LiveInstance extends AgentInstance {
  /** Server time of the last heartbeat, ms. */
  seenAt: number;
}

/** How long after its last heartbeat an instance counts as gone: the bucket's ttl. */
export const INSTANCE_TTL_MS = kvBuckets.agents.ttl;

/**
 * Reads every live instance (optionally of one agent). Entries whose last heartbeat is older than the
 * bucket ttl are left out even before the server expires them; malformed entries are skipped.
 */
export async function readInstances(bus: Bus, agent?: string, now = Date.now()): Promise<LiveInstance[]> {
  const kv = await bus.kv(kvBuckets.agents);
  const keys: string[] = [];
  for await (const key of await kv.keys(agentInstanceKeys(agent))) keys.push(key);
  const entries = await Promise.all(keys.map((k) => kv.get(k)));
  const live: LiveInstance[] = [];
  for (const e of entries) {
    if (e === null || e.operation !== "PUT" || e.length === 0) continue;
    const seenAt = e.created.getTime();
    if (now - seenAt > INSTANCE_TTL_MS) continue;
    const parsed = AgentInstance.safeParse(safeJson(e.string()));
    if (parsed.success) live.push({ ...parsed.data, seenAt });
  }
  return live.sort((a, b) => a.agent.localeCompare(b.agent) || a.startedAt - b.startedAt);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
