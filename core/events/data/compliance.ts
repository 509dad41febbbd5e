import { z } from "zod";
import { ComplianceRule, ComplianceViolation } from "../../compliance/pretrade.ts";

/** The data of what the ComplianceAuditor writes (entries in core/events/catalogue.ts). */

/** audit.decision (AUDIT): an event checked, the rules applied to it and what they found. */
export const Decision = z.object({
  eventId: z.string(),
  eventType: z.string(),
  subject: z.string(),
  seq: z.number().int().positive(),
  account: z.string().optional(),
  symbol: z.string().optional(),
  orderId: z.string().optional(),
  fillId: z.string().optional(),
  outcome: z.enum(["pass", "violation"]),
  checked: z.array(ComplianceRule),
  violations: z.array(ComplianceViolation),
  /** The event's own timestamp (integer UTC ms). */
  at: z.number().int().nonnegative(),
});
export type Decision = z.infer<typeof Decision>;

/** audit.control (AUDIT): a trading-control change (limits, kill switch, strategy) as recorded. */
export const ControlRecord = z.object({
  eventId: z.string(),
  eventType: z.string(),
  subject: z.string(),
  source: z.string(),
  seq: z.number().int().positive(),
  at: z.number().int().nonnegative(),
  data: z.unknown(),
});
export type ControlRecord = z.infer<typeof ControlRecord>;

/** compliance.violation (EVENTS): one violation of a rule by one event. */
export const ViolationEvent = ComplianceViolation.extend({
  eventId: z.string(),
  at: z.number().int().nonnegative(),
});
export type ViolationEvent = z.infer<typeof ViolationEvent>;
