import { z } from "zod";
import type { EventSpec } from "../events/catalogue.ts";
import type { OutputEvent, OutputRecord } from "./contract.ts";

/**
 * How a function builds its outputs: from a catalogue entry (core/events/catalogue.ts), never by
 * spelling a subject or a type. The entry gives both, and the data is parsed with the entry's schema
 * — data that does not match throws, so the batch fails (retried, then dead-lettered) rather than
 * publishing an event its consumers would refuse. The trigger assigns the message ids
 * (`outputId` in contract.ts, the catalogue's one style).
 */

/** The data of an entry, parsed by its schema (throws naming the type and the schema). */
function parsed<T>(e: EventSpec<T>, data: T): T {
  const r = e.schema.safeParse(data);
  if (!r.success) {
    throw new Error(`${e.type}: data does not match ${e.schemaName}: ${z.prettifyError(r.error)}`);
  }
  return r.data;
}

/** An event to publish: subject and type from the entry, data checked by its schema. */
export function outputOf<T>(e: EventSpec<T>, cause: number, data: T): OutputEvent<T> {
  if (e.stream === "AUDIT") throw new Error(`${e.type} is an AUDIT record: build it with recordOf`);
  const checked = parsed(e, data);
  return { cause, subject: e.subject(checked), type: e.type, data: checked };
}

/** The record kind of an AUDIT entry: the last token of its subject (`audit.<function>.<kind>`). */
export function recordKind(e: Pick<EventSpec, "type" | "stream" | "pattern">): string {
  const kind = e.pattern.split(".").at(-1);
  if (e.stream !== "AUDIT" || kind === undefined || kind === "*" || kind === ">") {
    throw new Error(`${e.type} is not an AUDIT record of a fixed subject`);
  }
  return kind;
}

/** An AUDIT record (the trigger publishes it on `audit.<function>.<kind>`), data checked by its schema. */
export function recordOf<T>(e: EventSpec<T>, cause: number, data: T): OutputRecord<T> {
  return { cause, kind: recordKind(e), type: e.type, data: parsed(e, data) };
}
