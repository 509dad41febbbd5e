import { AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import type { Bus } from "../../core/bus/bus.ts";
import { EventEnvelope } from "../../core/protocol/envelope.ts";
import { streams, subjects } from "../../core/subjects.ts";

export interface AuditEntry {
  seq: number;
  subject: string;
  envelope: EventEnvelope;
}

const decoder = new TextDecoder();

/**
 * Reads compliance's records from the AUDIT stream, oldest first, from `fromMs` (stream time) to the
 * last record stored when the read began. An ephemeral consumer (no acks, removed afterwards) takes
 * a snapshot of how many records there are, so the read ends without waiting on an empty fetch.
 */
export async function* readAudit(bus: Bus, fromMs?: number): AsyncGenerator<AuditEntry> {
  const stream = streams.AUDIT.name;
  const info = await bus.jsm.consumers.add(stream, {
    filter_subject: subjects.audit.ofAgent("compliance"),
    ack_policy: AckPolicy.None,
    inactive_threshold: 30_000_000_000,
    mem_storage: true,
    ...(fromMs !== undefined
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(fromMs).toISOString() }
      : { deliver_policy: DeliverPolicy.All }),
  });
  try {
    let remaining = info.num_pending;
    const consumer = await bus.js.consumers.get(stream, info.name);
    while (remaining > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(remaining, 500), expires: 2_000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        remaining--;
        const parsed = EventEnvelope.safeParse(JSON.parse(decoder.decode(m.data)));
        if (parsed.success) yield { seq: m.seq, subject: m.subject, envelope: parsed.data };
      }
      if (got === 0) break;
    }
  } finally {
    await bus.jsm.consumers.delete(stream, info.name).catch(() => undefined);
  }
}
