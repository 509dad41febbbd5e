import { events } from "../../core/events/catalogue.ts";
import { recordKind } from "../../core/functions/outputs.ts";

/**
 * What compliance writes, by its catalogue entries (core/events/catalogue.ts): the AUDIT records
 * `audit.decision` and `audit.control`, and the `compliance.violation` event. Their kinds are the
 * last token of the records' subjects.
 */
export const auditKind = {
  decision: recordKind(events.compliance.decision),
  control: recordKind(events.compliance.control),
} as const;

export { ControlRecord, ViolationEvent } from "../../core/events/data/compliance.ts";
