/**
 * The architect's command and events are the catalogue's (core/events/catalogue.ts):
 * `events.architect.requested` (architect.analysis.requested on `cmd.architect.analyze`),
 * `events.architect.completed` and `events.architect.failed`.
 */
export { AnalysisCompleted, ArchitectCommand } from "../../core/events/data/analysis.ts";

/** The full result's name in the results object store. */
export const analysisObjectName = (runId: string) => `architect/${runId}.json`;
