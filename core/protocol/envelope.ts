import { randomUUID } from "node:crypto";
import { z } from "zod";

/**
 * The one envelope of every JetStream message, with CloudEvents attribute names. `type` is dotted
 * lowercase (`order.filled`), `source` is the emitting agent, `subject` the NATS subject it was
 * published on, `time` RFC 3339. `correlationid` follows a whole flow; `causationid` names the event
 * (or request) that directly caused this one.
 */
export const EventEnvelope = z.object({
  specversion: z.literal("1.0").default("1.0"),
  id: z.string().min(1),
  type: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, "dotted lowercase, e.g. order.filled"),
  source: z.string().min(1),
  time: z.iso.datetime({ offset: true }),
  subject: z.string().min(1),
  correlationid: z.string().min(1),
  causationid: z.string().min(1).optional(),
  datacontenttype: z.literal("application/json").default("application/json"),
  data: z.unknown(),
});
export type EventEnvelope<T = unknown> = Omit<z.infer<typeof EventEnvelope>, "data"> & { data: T };

export interface NewEvent<T> {
  type: string;
  source: string;
  subject: string;
  data: T;
  /** Deterministic ids make redelivered work idempotent; a random one is used when absent. */
  id?: string;
  correlationid?: string;
  causationid?: string;
  time?: Date | string;
}

let isoMs = Number.NaN;
let iso = "";

/** `new Date().toISOString()`, made once per millisecond (an order's events share their instant). */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    iso = new Date(ms).toISOString();
  }
  return iso;
}

/** Builds an envelope; an event caused by another inherits its correlation id. */
export function makeEvent<T>(
  e: NewEvent<T>,
  cause?: Pick<EventEnvelope, "id" | "correlationid">,
): EventEnvelope<T> {
  const id = e.id ?? randomUUID();
  const time = e.time === undefined ? isoNow() : new Date(e.time).toISOString();
  const event: EventEnvelope<T> = {
    specversion: "1.0",
    id,
    type: e.type,
    source: e.source,
    time,
    subject: e.subject,
    correlationid: e.correlationid ?? cause?.correlationid ?? id,
    datacontenttype: "application/json",
    data: e.data,
  };
  const causationid = e.causationid ?? cause?.id;
  if (causationid !== undefined) event.causationid = causationid;
  return event;
}

const q = JSON.stringify;

/**
 * The JSON text of an envelope `makeEvent` built, around its data's JSON `data`: the same text as
 * `JSON.stringify(event)` (its keys in makeEvent's order), without the data serialised again.
 */
export function eventJson(event: EventEnvelope, data: string = q(event.data)): string {
  const causation = event.causationid === undefined ? "" : `,"causationid":${q(event.causationid)}`;
  return `{"specversion":${q(event.specversion)},"id":${q(event.id)},"type":${q(event.type)},"source":${q(event.source)},"time":${q(event.time)},"subject":${q(event.subject)},"correlationid":${q(event.correlationid)},"datacontenttype":${q(event.datacontenttype)},"data":${data}${causation}}`;
}

/** Parses an envelope and its data with the given schema; throws a ZodError naming the bad field. */
export function parseEvent<S extends z.ZodType>(raw: unknown, data: S): EventEnvelope<z.infer<S>> {
  const envelope = EventEnvelope.parse(raw);
  return { ...envelope, data: data.parse(envelope.data) };
}
