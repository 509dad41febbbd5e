import { z } from "zod";
import { Snapshot } from "../../analysis/gate.ts";
import { GateResultSchema } from "../../analysis/schemas.ts";

/** The data of the architect's and the quality gate's events (entries in core/events/catalogue.ts). */

/** architect.analysis.completed: counts, where the full result is, and the gate's view of the analysis. */
export const AnalysisCompleted = z.object({
  runId: z.string(),
  root: z.string(),
  scope: z.string(),
  resultObject: z.string(),
  files: z.number().int(),
  lines: z.number().int(),
  duplicates: z.number().int(),
  duplicatedPercent: z.number(),
  layerViolations: z.number().int(),
  cycles: z.number().int(),
  functionsOverThresholds: z.number().int(),
  timings_ms: z.record(z.string(), z.number()),
  snapshot: Snapshot,
  /** The quality gate was asked to evaluate this analysis. */
  gate: z.boolean(),
  /** The project's committed baseline, when the gate was asked for and one exists. */
  baseline: Snapshot.optional(),
});
export type AnalysisCompleted = z.infer<typeof AnalysisCompleted>;

/** architect.analysis.failed: an analysis refused (bad path, bad rules). */
export const AnalysisFailed = z.object({ runId: z.string(), reason: z.string() });
export type AnalysisFailed = z.infer<typeof AnalysisFailed>;

/** quality.gate.evaluated: pass/fail and every condition of the gate on new code. */
export const GateEvaluated = GateResultSchema.extend({
  runId: z.string(),
  root: z.string(),
  /** What new code was measured against. */
  against: z.enum(["previous_analysis", "baseline", "snapshot", "none"]),
});
export type GateEvaluated = z.infer<typeof GateEvaluated>;
