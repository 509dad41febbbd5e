import { AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import type { Bus } from "../../core/bus/bus.ts";
import { type Config, loadConfig } from "../../core/config.ts";
import { EventEnvelope } from "../../core/protocol/envelope.ts";

const decoder = new TextDecoder();

export interface StoredMessage {
  seq: number;
  subject: string;
  headers: Record<string, string[]>;
  envelope: EventEnvelope;
}

/** Every message stored on `filter` in `stream`, oldest first (tests and the bench). */
export async function readStream(bus: Bus, stream: string, filter: string): Promise<StoredMessage[]> {
  const info = await bus.jsm.consumers.add(stream, {
    filter_subject: filter,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    inactive_threshold: 10_000_000_000,
    mem_storage: true,
  });
  const out: StoredMessage[] = [];
  try {
    let remaining = info.num_pending;
    const consumer = await bus.js.consumers.get(stream, info.name);
    while (remaining > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(remaining, 1000), expires: 2_000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        remaining--;
        const headers: Record<string, string[]> = {};
        if (m.headers !== undefined) for (const [k, v] of m.headers) headers[k] = v;
        out.push({
          seq: m.seq,
          subject: m.subject,
          headers,
          envelope: EventEnvelope.parse(JSON.parse(decoder.decode(m.data))),
        });
      }
      if (got === 0) break;
    }
  } finally {
    await bus.jsm.consumers.delete(stream, info.name).catch(() => undefined);
  }
  return out;
}

/** A config for tests: defaults plus overrides, validated like the real one. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ LOG_LEVEL: "silent", ENVIRONMENT: "test", ...overrides });
}
