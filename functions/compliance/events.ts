import { z } from "zod";
import { type Fill, type Order, type Position, tradeEventType } from "../../core/domain/trading.ts";
import { consumedBy, events } from "../../core/events/catalogue.ts";
import { EventEnvelope } from "../../core/protocol/envelope.ts";
import { subjects } from "../../core/subjects.ts";

/** What compliance receives on events.trade.>, sorted by kind once parsed. */
export type ComplianceEvent =
  | (EventEnvelope<Order> & { kind: "order" })
  | (EventEnvelope<Fill> & { kind: "fill" })
  | (EventEnvelope<Position> & { kind: "position" })
  | (EventEnvelope<unknown> & { kind: "control" })
  | (EventEnvelope<unknown> & { kind: "other" });

const orderTypes = new Set<string>(Object.values(events.order).map((e) => e.type));
/** The trading-control types compliance records: the catalogue's entries it consumes on `events.trade.control.*`. */
const controlTypes = new Set<string>(
  consumedBy("compliance")
    .filter((e) => e.pattern.startsWith(subjects.trade.control("limits").replace(/[^.]+$/, "")))
    .map((e) => e.type),
);

/**
 * The input schema: an envelope whose `data` must match the schema its catalogue entry names (Order
 * for `order.<status>`, Fill, Position). Trading-control events keep their data as published by risk.
 * Types compliance does not know are passed through as `other` and ignored.
 */
export const ComplianceInput = EventEnvelope.transform((e, ctx): ComplianceEvent => {
  const check = <T>(schema: z.ZodType<T>): T | undefined => {
    const parsed = schema.safeParse(e.data);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) {
      ctx.addIssue({ code: "custom", path: ["data", ...issue.path.map(String)], message: issue.message });
    }
    return undefined;
  };
  if (orderTypes.has(e.type)) {
    const data = check(events.order.accepted.schema);
    if (data === undefined) return z.NEVER;
    if (tradeEventType.order(data.status) !== e.type) {
      ctx.addIssue({
        code: "custom",
        path: ["data", "status"],
        message: `status ${data.status} contradicts type ${e.type}`,
      });
      return z.NEVER;
    }
    return { ...e, kind: "order", data };
  }
  if (e.type === events.fill.type) {
    const data = check(events.fill.schema);
    return data === undefined ? z.NEVER : { ...e, kind: "fill", data };
  }
  if (e.type === events.position.type) {
    const data = check(events.position.schema);
    return data === undefined ? z.NEVER : { ...e, kind: "position", data };
  }
  if (controlTypes.has(e.type)) return { ...e, kind: "control", data: e.data };
  return { ...e, kind: "other", data: e.data };
});
