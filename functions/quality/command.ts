import { z } from "zod";
import { Snapshot } from "../../core/analysis/gate.ts";
import { events, inputOf } from "../../core/events/catalogue.ts";

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

/** A gate command or an architect's analysis, by kind; any other type is refused (dead-lettered). */
export const QualityInput = inputOf({
  requested: [events.quality.requested],
  analysis: [events.architect.completed],
}).refine((e) => e.kind !== "other", { message: "neither a gate command nor an analysis", path: ["type"] });
export type QualityInput = z.infer<typeof QualityInput>;

export { GateCommand, GateEvaluated } from "../../core/events/data/analysis.ts";

/** The last analysis per root (at most MAX_ROOTS, oldest dropped), for "two analyses" gates. */
export const QualityState = z.object({
  last: z.array(z.object({ root: z.string(), runId: z.string(), snapshot: Snapshot })).max(3),
});
export type QualityState = z.infer<typeof QualityState>;
export const MAX_ROOTS = 3;
