import { DeliverPolicy } from "@nats-io/jetstream";
import type { z } from "zod";
import type { Bus } from "../../adapters/nats/bus.ts";
import { EventEnvelope } from "../../core/protocol/envelope.ts";

/**
 * The newest `limit` messages of one subject of a stream (oldest first), from `since` (ms) or from the
 * start of what the stream holds, each parsed with `schema` (messages that do not parse are skipped).
 * An ordered consumer reads them in pages and is gone afterwards; at most `maxScan` messages are read.
 */
export async function readHistory<S extends z.ZodType>(
  bus: Bus,
  stream: string,
  subject: string,
  schema: S,
  o: { limit: number; since?: number; maxScan?: number },
): Promise<z.infer<S>[]> {
  const info = await bus.jsm.streams.info(stream, { subjects_filter: subject });
  const held = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  if (held === 0) return [];
  const consumer = await bus.js.consumers.get(stream, {
    filter_subjects: subject,
    ...(o.since !== undefined
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(o.since).toISOString() }
      : { deliver_policy: DeliverPolicy.All }),
  });
  const out: z.infer<S>[] = [];
  const maxScan = o.maxScan ?? 200_000;
  let scanned = 0;
  for (;;) {
    const batch = await consumer.fetch({ max_messages: 1_000, expires: 1_000 });
    let got = 0;
    let pending = 0;
    for await (const m of batch) {
      got++;
      scanned++;
      pending = m.info.pending;
      const envelope = EventEnvelope.safeParse(m.json());
      if (!envelope.success) continue;
      const data = schema.safeParse(envelope.data.data);
      if (!data.success) continue;
      out.push(data.data);
      if (out.length > o.limit) out.shift();
      if (pending === 0) break;
    }
    if (got === 0 || pending === 0 || scanned >= maxScan) break;
  }
  return out;
}
