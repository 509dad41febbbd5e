import type { Bus } from "../../adapters/nats/bus.ts";
import { type FollowVerdict, follow } from "../../adapters/nats/follow.ts";
import { EventEnvelope } from "../../core/protocol/envelope.ts";
import { streams, subjects } from "../../core/subjects.ts";
import type { Logger } from "../../core/telemetry/log.ts";

export interface AuditEntry {
  seq: number;
  subject: string;
  envelope: EventEnvelope;
}

/**
 * Reads compliance's records from the AUDIT stream, oldest first, from `fromMs` (stream time) to the
 * last record stored when the read began, handing each to `visit` (which may return `"stop"`). A
 * bounded follow (adapters/nats/follow.ts: an ordered consumer, nothing left on the server); a record that
 * is not an envelope is logged and skipped.
 */
export async function readAudit(
  bus: Bus,
  logger: Logger,
  fromMs: number | undefined,
  visit: (entry: AuditEntry) => FollowVerdict,
): Promise<void> {
  const read = await follow(
    bus,
    streams.AUDIT.name,
    subjects.audit.ofAgent("compliance"),
    EventEnvelope,
    (envelope, d) => visit({ seq: d.seq, subject: d.subject, envelope }),
    { logger, toEnd: true, name: "audit read", ...(fromMs !== undefined ? { from: { time: fromMs } } : {}) },
  );
  await read.done;
}
