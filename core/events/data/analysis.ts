import { z } from "zod";
import { AnalysisPart } from "../../analysis/analyze.ts";
import { GateConditions, Snapshot } from "../../analysis/gate.ts";
import { GateResultSchema } from "../../analysis/schemas.ts";
import { RunId } from "./run.ts";

/** The data of the architect's and the quality gate's events (entries in core/events/catalogue.ts). */

/** architect.analysis.requested on `cmd.architect.analyze` (COMMANDS): what to analyse. */
export const ArchitectCommand = z
  .object({
    /** Names the run: its events and its stored result (default: the command's envelope id). */
    runId: RunId.optional(),
    /** A folder or file readable by the function host (inside its working or temporary directory). */
    path: z.string().min(1).max(1_000).optional(),
    /** Or the sources inline (what a Lambda without the checkout analyses). */
    sources: z
      .array(z.object({ path: z.string().min(1).max(1_000), text: z.string().max(2_000_000) }))
      .max(5_000)
      .optional(),
    parts: z.array(AnalysisPart).min(1).max(3).optional(),
    /** Ask the quality gate to evaluate this analysis (the event then carries the committed baseline). */
    gate: z.boolean().default(false),
  })
  .refine((c) => (c.path === undefined) !== (c.sources === undefined), {
    message: "give either path or sources",
    path: ["path"],
  });
export type ArchitectCommand = z.infer<typeof ArchitectCommand>;

/** quality.gate.requested on `cmd.quality.evaluate` (COMMANDS): two snapshots to compare. */
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
