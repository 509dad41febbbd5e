import { z } from "zod";
import { subjects } from "../../core/subjects.ts";
import { Violation } from "./rules.ts";

/** Names of what compliance writes: AUDIT record kinds and types, and its violation event. */
export const auditKind = { decision: "decision", control: "control" } as const;
export const auditType = { decision: "audit.decision", control: "audit.control" } as const;
export const violationType = "compliance.violation";
export const violationSubject = () => subjects.events.of("compliance", "violation");

/** A trading-control change (limits, kill switch) as recorded on AUDIT. */
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

/** The `data` of a compliance.violation event. */
export const ViolationEvent = Violation.extend({ eventId: z.string(), at: z.number().int().nonnegative() });
export type ViolationEvent = z.infer<typeof ViolationEvent>;
