import { natsBus } from "../../adapters/nats/bus.ts";
import { readInstances } from "../../adapters/nats/agent-registry.ts";
import type { FunctionBackgroundDeps, RunningBackground } from "../../core/functions/contract.ts";
import { HEARTBEAT_INTERVAL_MS } from "../../core/subjects.ts";
import { runAndReport } from "./run.ts";

/** Agents whose version appeared after the watcher started: `agent@version` → first seen (ms). */
export function newVersions(
  known: Set<string>,
  instances: readonly { agent: string; version: string }[],
): string[] {
  const fresh: string[] = [];
  for (const i of instances) {
    const key = `${i.agent}@${i.version}`;
    if (known.has(key)) continue;
    known.add(key);
    fresh.push(i.agent);
  }
  return [...new Set(fresh)];
}

/**
 * Validates an agent when a new version of it registers: the registry is read every heartbeat
 * interval; what is there at start is the baseline (the launcher starts everything before this
 * function), and any `agent@version` seen afterwards queues one validation of that agent, run one
 * at a time. Off with VALIDATE_ON_REGISTER=false.
 */
export async function watchRegistrations(
  deps: FunctionBackgroundDeps<undefined>,
  intervalMs = HEARTBEAT_INTERVAL_MS,
): Promise<RunningBackground> {
  if (!deps.config.VALIDATE_ON_REGISTER) return { stop: async () => {} };
  const bus = natsBus(await deps.bus());
  const known = new Set<string>();
  newVersions(known, await readInstances(bus).catch(() => []));
  const queue: string[] = [];
  let running: Promise<void> | undefined;
  let stopped = false;
  const drain = async () => {
    while (!stopped && queue.length > 0) {
      const agent = queue.shift() as string;
      try {
        const report = await runAndReport(bus, deps.config, "registered", { agent });
        deps.logger.info(
          { agent, runId: report.runId, failures: report.totals.failures, inputs: report.totals.inputs },
          `validated ${agent} after it registered a new version`,
        );
      } catch (err) {
        deps.logger.warn({ err, agent }, "validation after registration failed");
      }
    }
    running = undefined;
  };
  const tick = async () => {
    if (stopped || !bus.connected) return;
    const fresh = newVersions(known, await readInstances(bus).catch(() => []));
    for (const agent of fresh) if (!queue.includes(agent)) queue.push(agent);
    if (queue.length > 0 && running === undefined) running = drain();
  };
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  return {
    async stop() {
      // A run in flight is abandoned (its calls fail as the bus drains): stopping never waits a run out.
      stopped = true;
      clearInterval(timer);
    },
  };
}
