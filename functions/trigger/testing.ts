import type { Bus } from "../../adapters/nats/bus.ts";
import { follow } from "../../adapters/nats/follow.ts";
import { type Config, loadConfig } from "../../core/config.ts";
import { EventEnvelope } from "../../core/protocol/envelope.ts";

export interface StoredMessage {
  seq: number;
  subject: string;
  headers: Record<string, string[]>;
  envelope: EventEnvelope;
}

/** Every message stored on `filter` in `stream`, oldest first (tests and the bench); a bounded follow. */
export async function readStream(bus: Bus, stream: string, filter: string): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  const read = await follow(
    bus,
    stream,
    filter,
    EventEnvelope,
    (envelope, d) => {
      const headers: Record<string, string[]> = {};
      if (d.headers !== undefined) for (const [k, v] of d.headers) headers[k] = v;
      out.push({ seq: d.seq, subject: d.subject, headers, envelope });
    },
    { logger: bus.logger, toEnd: true, name: `read ${stream} ${filter}` },
  );
  await read.done;
  if (read.stats.rejected > 0)
    throw new Error(`${read.stats.rejected} message(s) on ${filter} are not envelopes`);
  return out;
}

/** A config for tests: defaults plus overrides, validated like the real one. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ LOG_LEVEL: "silent", ENVIRONMENT: "test", ...overrides });
}
