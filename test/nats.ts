import { randomUUID } from "node:crypto";
import { afterAll, inject } from "vitest";
import { Bus } from "../adapters/nats/bus.ts";
import {
  type NatsServerHandle,
  type NatsServerOptions,
  startNatsServer,
} from "../infra/nats-server/process.ts";
import { quietLogger } from "../core/telemetry/log.ts";

/** The URL of the run's shared nats-server (core NATS only: streams belong to private servers). */
export const sharedNatsUrl = () => inject("natsUrl");

const servers = new Set<NatsServerHandle>();
const buses = new Set<Bus>();

// One hook for the whole file, registered when the file imports this module: it works whether a
// server or bus was made in a describe body, a beforeAll or a test. Buses drain before servers stop.
afterAll(async () => {
  await Promise.all([...buses].map((b) => b.drain().catch(() => undefined)));
  buses.clear();
  await Promise.all([...servers].map((s) => s.stop({ clean: true })));
  servers.clear();
});

/**
 * A private nats-server for one test file: its own port and store, so streams, consumers and KV never
 * collide with another file or another run. Stopped (and its store removed) after the file.
 */
export async function privateNats(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const server = await startNatsServer(options);
  servers.add(server);
  return server;
}

/** A bus connection drained after the file. */
export async function testBus(url: string, name = `test-${randomUUID().slice(0, 8)}`): Promise<Bus> {
  const bus = await Bus.connect({
    url,
    name,
    logger: quietLogger(name),
    reconnectDelayMs: 50,
    maxReconnectDelayMs: 500,
  });
  buses.add(bus);
  return bus;
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 5_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`,
  );
}
