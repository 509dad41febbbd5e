import { z } from "zod";
import { AnalysisPart } from "../../core/analysis/analyze.ts";
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

/** The command's type and subject (the events' are the catalogue's: `events.architect` in core/events/catalogue.ts). */
export const architectCommand = {
  type: "architect.analysis.requested",
  subject: subjects.commands.of("architect", "analyze"),
} as const;

/** The full result's name in the results object store. */
export const analysisObjectName = (runId: string) => `architect/${runId}.json`;

export { AnalysisCompleted } from "../../core/events/data/analysis.ts";
