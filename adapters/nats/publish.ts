import type { PubAck } from "@nats-io/jetstream";
import { type EventSpec, type NewCatalogueEvent, newEvent } from "../../core/events/catalogue.ts";
import type { EventEnvelope } from "../../core/protocol/envelope.ts";
import type { Bus } from "./bus.ts";

/**
 * Publishes one event of a catalogue entry (core/events/catalogue.ts) and waits for the stream's
 * ack: the entry gives the type and the subject, the data must be of the entry's schema type, and the
 * message id is `<type>:<id parts…>`, so a republish inside the duplicate window is stored once.
 */
export function publish<T>(
  bus: Bus,
  spec: EventSpec<T>,
  input: NewCatalogueEvent<T>,
  cause?: Pick<EventEnvelope, "id" | "correlationid">,
): Promise<PubAck> {
  return bus.publishEvent(newEvent(spec, input, cause));
}
