import type { Bus } from "../../adapters/nats/bus.ts";
import { follow } from "../../adapters/nats/follow.ts";
import { EventEnvelope } from "../../core/protocol/envelope.ts";
import { streams } from "../../core/subjects.ts";
import { CcxtVenue } from "./ccxt-venue.ts";
import type { BinanceEmulator } from "./emulator/binance.ts";
import type { Publisher } from "./publisher.ts";

/**
 * Test support: every event stored in a stream (in order), read with a bounded follow
 * (adapters/nats/follow.ts), so the test sees exactly what consumers would, duplicates included.
 */
export async function storedEvents(
  bus: Bus,
  stream: keyof typeof streams = "EVENTS",
): Promise<EventEnvelope[]> {
  const spec = streams[stream];
  const out: EventEnvelope[] = [];
  const read = await follow(bus, spec.name, spec.subjects[0] ?? ">", EventEnvelope, (e) => void out.push(e), {
    logger: bus.logger,
    toEnd: true,
  });
  await read.done;
  return out;
}

/** Test support: the event types stored for one client order id, in stream order. */
export async function eventTypesOf(bus: Bus, clientOrderId: string): Promise<string[]> {
  return (await storedEvents(bus))
    .filter((e) => (e.data as { clientOrderId?: string } | undefined)?.clientOrderId === clientOrderId)
    .map((e) => e.type);
}

/** Test support: ccxt's real binance class pointed at a running emulator. */
export const emulatedBinance = (
  emu: BinanceEmulator,
  rate: { burst?: number; refillPerSecond?: number } = {},
) =>
  new CcxtVenue({
    name: "binance",
    exchangeId: "binance",
    apiKey: emu.apiKey,
    secret: emu.secret,
    apiBaseUrl: emu.url,
    timeoutMs: 2_000,
    ...rate,
  });

/** Test support: `POST /tools/<tool>` on a running service, answering the status and the parsed body. */
export const toolPoster =
  (baseUrl: () => string) =>
  async (tool: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${baseUrl()}/tools/${tool}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

/** Test and bench support: a publisher that stores nothing (the in-memory path). */
export function memoryPublisher(): Publisher {
  return {
    order() {},
    fill() {},
    position() {},
    market() {},
    notice() {},
    durable: () => Promise.resolve(),
    available: true,
    flush: () => Promise.resolve(),
    pending: 0,
    published: 0,
    failures: 0,
    dropped: 0,
    lastSeq: 0,
  };
}
