import { z } from "zod";
import { Fill, Order, OrderState, tradeEventType } from "../../core/domain/trading.ts";
import type { LedgerEvent } from "../../core/ledger/model.ts";
import { EventEnvelope } from "../../core/protocol/envelope.ts";

const orderTypes = new Set<string>(OrderState.map((s) => tradeEventType.order(s)));

/** An inbound envelope sorted by kind once parsed; `seq` is added from the delivery. */
export type LedgerInbound =
  | (EventEnvelope<Order> & { kind: "order" })
  | (EventEnvelope<Fill> & { kind: "fill" })
  | (EventEnvelope<unknown> & { kind: "other" });

/**
 * The ledger's input schema: an envelope whose `data` must match the schema its `type` names (Order
 * for `order.<status>` with a matching status, Fill for `fill.executed`); a mismatch is dead-lettered
 * at once naming the bad field. Every other type on `events.trade.>` (positions, controls) is kept
 * as `other`: its id enters the inbox, nothing else changes.
 */
export const LedgerInput = EventEnvelope.transform((e, ctx): LedgerInbound => {
  const check = <T>(schema: z.ZodType<T>): T | undefined => {
    const parsed = schema.safeParse(e.data);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) {
      ctx.addIssue({ code: "custom", path: ["data", ...issue.path.map(String)], message: issue.message });
    }
    return undefined;
  };
  if (orderTypes.has(e.type)) {
    const data = check(Order);
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
  if (e.type === tradeEventType.fill) {
    const data = check(Fill);
    return data === undefined ? z.NEVER : { ...e, kind: "fill", data };
  }
  return { ...e, kind: "other", data: e.data };
});

/** The projection's view of one parsed inbound event. */
export function toLedgerEvent(e: LedgerInbound, seq: number): LedgerEvent {
  const time = Date.parse(e.time);
  const base = { id: e.id, seq, type: e.type, time: Number.isFinite(time) ? time : 0 };
  if (e.kind === "order") return { ...base, kind: "order", data: e.data };
  if (e.kind === "fill") return { ...base, kind: "fill", data: e.data };
  return { ...base, kind: "other" };
}
