import { z } from "zod";
import { GateConditions, Snapshot } from "../../core/analysis/gate.ts";
import { GateResultSchema } from "../../core/analysis/schemas.ts";
import { EventEnvelope } from "../../core/protocol/envelope.ts";
import { subjects } from "../../core/subjects.ts";

/**
 * What the quality gate consumes and publishes. It reads two kinds of message:
 *   - `quality.gate.requested` on `cmd.quality.evaluate` (COMMANDS): two snapshots to compare;
 *   - `architect.analysis.completed` on `events.architect.completed` (EVENTS): an analysis, compared
 *     with the previous analysis of the same root (kept in the function's state) or, for the first
 *     one, with the committed baseline the event carries.
 * It publishes `quality.gate.evaluated` on `events.quality.gate` with pass/fail and every condition.
 *
 * The architect's completion event is parsed here with this function's own schema (agents share
 * the event's shape through the bus, not by importing one another).
 */
const RunId = z.string().regex(/^[A-Za-z0-9_.-]{1,80}$/, "letters, digits, '_', '.', '-' (at most 80)");

export const GateCommand = z.object({
  runId: RunId.optional(),
  /** The earlier analysis (absent: everything in `after` is new). */
  before: Snapshot.optional(),
  after: Snapshot,
  /** Conditions instead of the defaults. */
  conditions: GateConditions.optional(),
  /** Names the compared tree in the result (e.g. a root path or a branch). */
  root: z.string().max(1_000).default("(snapshots)"),
});
export type GateCommand = z.infer<typeof GateCommand>;

export const ArchitectCompleted = z.object({
  runId: z.string().min(1).max(200),
  root: z.string().min(1).max(1_000),
  snapshot: Snapshot,
  gate: z.boolean(),
  baseline: Snapshot.optional(),
});
export type ArchitectCompleted = z.infer<typeof ArchitectCompleted>;

export const qualityEventType = {
  requested: "quality.gate.requested",
  evaluated: "quality.gate.evaluated",
  architectCompleted: "architect.analysis.completed",
} as const;

export const qualitySubject = {
  command: subjects.commands.of("quality", "evaluate"),
  evaluated: subjects.events.of("quality", "gate"),
};

export const QualityInput = z.union([
  EventEnvelope.extend({ type: z.literal(qualityEventType.requested), data: GateCommand }),
  EventEnvelope.extend({ type: z.literal(qualityEventType.architectCompleted), data: ArchitectCompleted }),
]);
export type QualityInput = z.infer<typeof QualityInput>;

export const GateEvaluated = GateResultSchema.extend({
  runId: z.string(),
  root: z.string(),
  /** What new code was measured against. */
  against: z.enum(["previous_analysis", "baseline", "snapshot", "none"]),
});
export type GateEvaluated = z.infer<typeof GateEvaluated>;

/** The last analysis per root (at most MAX_ROOTS, oldest dropped), for "two analyses" gates. */
export const QualityState = z.object({
  last: z.array(z.object({ root: z.string(), runId: z.string(), snapshot: Snapshot })).max(3),
});
export type QualityState = z.infer<typeof QualityState>;
export const MAX_ROOTS = 3;
