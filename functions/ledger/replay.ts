import { AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import type { Bus } from "../../adapters/nats/bus.ts";
import type { LedgerEvent } from "../../core/ledger/model.ts";
import { streams, subjects } from "../../core/subjects.ts";
import { LedgerInput, toLedgerEvent } from "./events.ts";

const decoder = new TextDecoder();

/**
 * Reads the trade events of EVENTS (`events.trade.>`) from stream sequence `fromSeq` to the last one
 * stored when the read began, in stream order and in batches, through an ephemeral consumer (no
 * acks, removed afterwards). A message that fails the ledger's input schema is skipped, as the live
 * trigger dead-letters it without projecting it.
 */
export async function* readTradeEvents(
  bus: Bus,
  fromSeq: number,
  batchSize = 1_000,
): AsyncGenerator<LedgerEvent[]> {
  const stream = streams.EVENTS.name;
  const info = await bus.jsm.consumers.add(stream, {
    filter_subject: subjects.trade.all,
    ack_policy: AckPolicy.None,
    inactive_threshold: 30_000_000_000,
    mem_storage: true,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: Math.max(1, fromSeq),
  });
  try {
    let remaining = info.num_pending;
    const consumer = await bus.js.consumers.get(stream, info.name);
    while (remaining > 0) {
      const fetched = await consumer.fetch({ max_messages: Math.min(remaining, batchSize), expires: 2_000 });
      const batch: LedgerEvent[] = [];
      let got = 0;
      for await (const m of fetched) {
        got++;
        remaining--;
        let raw: unknown;
        try {
          raw = JSON.parse(decoder.decode(m.data));
        } catch {
          continue;
        }
        const parsed = LedgerInput.safeParse(raw);
        if (parsed.success) batch.push(toLedgerEvent(parsed.data, m.seq));
      }
      if (batch.length > 0) yield batch;
      if (got === 0) break;
    }
  } finally {
    await bus.jsm.consumers.delete(stream, info.name).catch(() => undefined);
  }
}
