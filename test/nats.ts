import { randomUUID } from "node:crypto";
import { afterAll, inject } from "vitest";
import { Bus } from "../core/bus/bus.ts";
import {
  type NatsServerHandle,
  type NatsServerOptions,
  startNatsServer,
} from "../core/nats-server/process.ts";
import { quietLogger } from "../core/telemetry/log.ts";

/** The URL of the run's shared nats-server (core NATS only: streams belong to private servers). */
export const sharedNatsUrl = () => inject("natsUrl");

/**
 * A private nats-server for one test file: its own port and store, so streams, consumers and KV never
 * collide with another file or another run. Stopped (and its store removed) after the file.
 */
export async function privateNats(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const server = await startNatsServer(options);
  afterAll(() => server.stop({ clean: true }));
  return server;
}

/** A bus connection closed after the file. */
export async function testBus(url: string, name = `test-${randomUUID().slice(0, 8)}`): Promise<Bus> {
  const bus = await Bus.connect({
    url,
    name,
    logger: quietLogger(name),
    reconnectDelayMs: 50,
    maxReconnectDelayMs: 500,
  });
  afterAll(() => bus.drain());
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
