import { z } from "zod";
import { AnalysisPart } from "../../core/analysis/analyze.ts";
import { Snapshot } from "../../core/analysis/gate.ts";
import { subjects } from "../../core/subjects.ts";

/** The analysis command (`cmd.architect.analyze` on COMMANDS) and what the architect publishes. */
export const RunId = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,80}$/, "letters, digits, '_', '.', '-' (at most 80)");

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

export const architectEventType = {
  command: "architect.analysis.requested",
  completed: "architect.analysis.completed",
  failed: "architect.analysis.failed",
} as const;

export const architectSubject = {
  command: subjects.commands.of("architect", "analyze"),
  completed: subjects.events.of("architect", "completed"),
  failed: subjects.events.of("architect", "failed"),
};

/** The full result's name in the results object store. */
export const analysisObjectName = (runId: string) => `architect/${runId}.json`;

/** The completion event: counts, where the full result is, and the gate's view of the analysis. */
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
  gate: z.boolean(),
  /** The project's committed baseline, when the gate was asked for and one exists. */
  baseline: Snapshot.optional(),
});
export type AnalysisCompleted = z.infer<typeof AnalysisCompleted>;
