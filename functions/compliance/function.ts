import type { Effects, InboundEvent, OutputEvent, OutputRecord } from "../../core/functions/contract.ts";
import { defineFunction } from "../../core/functions/contract.ts";
import { type ComplianceEvent, ComplianceInput } from "./events.ts";
import { events as catalogue } from "../../core/events/catalogue.ts";
import { outputOf, recordOf } from "../../core/functions/outputs.ts";
import type { ControlRecord, ViolationEvent } from "./records.ts";
import {
  ComplianceState,
  type Decision,
  initialState,
  onFill,
  onOrder,
  onPosition,
  type Rule,
  thresholdsOf,
  type Violation,
} from "./rules.ts";
import { complianceTools } from "./tools.ts";

/**
 * ComplianceAuditor: consumes everything that governs trading (events.trade.>), decides every order,
 * fill and position against the rules, and returns one immutable AUDIT record per decision (and per
 * trading-control change) plus a compliance.violation event per violation. Pure: the trigger
 * publishes, and the state (positions, last prices, recent fills and orders) travels with the batch.
 */
export function handleCompliance(
  batch: readonly InboundEvent<ComplianceEvent>[],
  ctx: { state: ComplianceState; config: Parameters<typeof thresholdsOf>[0] },
): Effects<ComplianceState> {
  const t = thresholdsOf(ctx.config);
  const state = structuredClone(ctx.state);
  const events: OutputEvent<ViolationEvent>[] = [];
  const records: OutputRecord[] = [];
  for (const m of batch) {
    const e = m.event;
    if (e.kind === "other") continue;
    if (e.kind === "control") {
      const data: ControlRecord = {
        eventId: e.id,
        eventType: e.type,
        subject: e.subject,
        source: e.source,
        seq: m.seq,
        at: Date.parse(e.time),
        data: e.data,
      };
      records.push(recordOf(catalogue.compliance.control, m.seq, data));
      continue;
    }
    // Arrival (the producer's publish time) prunes the windows; the events' own times decide them.
    const arrivedAt = Date.parse(e.time);
    let outcome: { checked: Rule[]; violations: Violation[] };
    let ids: { account: string; symbol: string; orderId?: string; fillId?: string; at: number };
    switch (e.kind) {
      case "order":
        outcome = onOrder(state, e.data, t, arrivedAt);
        ids = { account: e.data.account, symbol: e.data.symbol, orderId: e.data.id, at: e.data.updatedAt };
        break;
      case "fill":
        outcome = onFill(state, e.data, t, arrivedAt);
        ids = {
          account: e.data.account,
          symbol: e.data.symbol,
          orderId: e.data.orderId,
          fillId: e.data.id,
          at: e.data.timestamp,
        };
        break;
      case "position":
        outcome = onPosition(state, e.data, t, arrivedAt);
        ids = { account: e.data.account, symbol: e.data.symbol, at: e.data.timestamp };
        break;
    }
    const decision: Decision = {
      eventId: e.id,
      eventType: e.type,
      subject: e.subject,
      seq: m.seq,
      ...ids,
      outcome: outcome.violations.length > 0 ? "violation" : "pass",
      checked: outcome.checked,
      violations: outcome.violations,
    };
    for (const v of outcome.violations) {
      events.push(outputOf(catalogue.compliance.violation, m.seq, { ...v, eventId: e.id, at: ids.at }));
    }
    records.push(recordOf(catalogue.compliance.decision, m.seq, decision));
  }
  return { events, records, state };
}

export const definition = defineFunction({
  name: "compliance",
  input: ComplianceInput,
  state: { schema: ComplianceState, initial: initialState },
  tools: complianceTools,
  handle: (batch, ctx) => handleCompliance(batch, ctx),
});
