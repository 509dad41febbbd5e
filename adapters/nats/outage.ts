import { errors as natsErrors } from "@nats-io/transport-node";
import type { Logger } from "../../core/telemetry/log.ts";
import type { Bus } from "./bus.ts";

/**
 * A bus outage during start-up (the nats-server killed or restarting while an agent opens its
 * consumers, KV buckets or heartbeat) is waited out, not fatal: the step is run again once the
 * connection is back. Any other failure (a permission, a bad stream config, a bug) is thrown at once.
 */

/** True for the errors a nats-server that is down or restarting gives: timeouts, no responders, a lost connection. */
export function isBusOutage(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (
      e instanceof natsErrors.TimeoutError ||
      e instanceof natsErrors.NoRespondersError ||
      e instanceof natsErrors.ConnectionError ||
      (e instanceof natsErrors.RequestError && e.isNoResponders())
    )
      return true;
    // JetStream answers 503 while it recovers its store after a restart.
    if (e.name === "JetStreamApiError" && (e as { code?: number }).code === 503) return true;
  }
  return false;
}

/**
 * Runs `step`; while it fails with a bus outage, waits for the connection and runs it again, for up to
 * `deadlineMs` (default 2 minutes). The step must be safe to run twice (every start step is: durable
 * consumers, KV puts and stream updates are idempotent).
 */
export async function waitOutOutage<T>(
  bus: Bus,
  what: string,
  step: () => Promise<T>,
  logger: Logger,
  deadlineMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!isBusOutage(err) || Date.now() > deadline) throw err;
      logger.warn({ err, attempt, step: what }, `${what}: the bus is unavailable; retrying once it is back`);
      await untilConnected(bus, deadline - Date.now());
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Resolves once the bus is connected, or after `timeoutMs` (the caller's next step then fails on its own). */
export async function untilConnected(bus: Bus, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!bus.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}
