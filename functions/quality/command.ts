import { z } from "zod";
import { GateConditions, Snapshot } from "../../core/analysis/gate.ts";
import { events, inputOf } from "../../core/events/catalogue.ts";
import { subjects } from "../../core/subjects.ts";

/**
 * What the quality gate consumes and publishes. It reads two kinds of message:
 *   - `quality.gate.requested` on `cmd.quality.evaluate` (COMMANDS): two snapshots to compare;
 *   - `architect.analysis.completed` on `events.architect.completed` (EVENTS): an analysis, compared
 *     with the previous analysis of the same root (kept in the function's state) or, for the first
 *     one, with the committed baseline the event carries.
 * It publishes `quality.gate.evaluated` on `events.quality.gate` with pass/fail and every condition.
 *
 * The architect's completion event is parsed with its catalogue entry (core/events/catalogue.ts):
 * agents share the event's shape through core, not by importing one another.
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

/** The command's type and subject (the events' are the catalogue's, core/events/catalogue.ts). */
export const gateCommand = {
  type: "quality.gate.requested",
  subject: subjects.commands.of("quality", "evaluate"),
} as const;

/** A gate command or an architect's analysis, by kind; any other type is refused (dead-lettered). */
export const QualityInput = inputOf({
  requested: [{ type: gateCommand.type, schema: GateCommand }],
  analysis: [events.architect.completed],
}).refine((e) => e.kind !== "other", { message: "neither a gate command nor an analysis", path: ["type"] });
export type QualityInput = z.infer<typeof QualityInput>;

export { GateEvaluated } from "../../core/events/data/analysis.ts";

/** The last analysis per root (at most MAX_ROOTS, oldest dropped), for "two analyses" gates. */
export const QualityState = z.object({
  last: z.array(z.object({ root: z.string(), runId: z.string(), snapshot: Snapshot })).max(3),
});
export type QualityState = z.infer<typeof QualityState>;
export const MAX_ROOTS = 3;
