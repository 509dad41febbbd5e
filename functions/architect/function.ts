import type { z } from "zod";
import { type AnalysisResult, analyzeSources } from "../../core/analysis/analyze.ts";
import { type Snapshot, snapshotOf } from "../../core/analysis/gate.ts";
import {
  AnalysisInputError,
  analyzePath,
  checkedPath,
  loadBaseline,
  loadProject,
} from "../../core/analysis/run.ts";
import {
  defineFunction,
  type Effects,
  type OutputEvent,
  type OutputObject,
} from "../../core/functions/contract.ts";
import { envelopeOf, events } from "../../core/events/catalogue.ts";
import { outputOf } from "../../core/functions/outputs.ts";
import { type AnalysisCompleted, type ArchitectCommand, analysisObjectName } from "./command.ts";
import { architectTools, warmAnalysis } from "./tools.ts";

/**
 * The architect function. Consumes `cmd.architect.>` on COMMANDS; for each analysis command it runs
 * the whole analysis (duplication, layer rules, complexity) and returns
 *   - `architect.analysis.completed` on `events.architect.completed`: the counts, the timings, the
 *     result's object name and the gate's snapshot (the quality gate consumes it), or
 *     `architect.analysis.failed` on `events.architect.failed` with the reason (bad path, bad rules);
 *   - the full result in the results object store as `architect/<runId>.json`.
 * Commands carry the sources inline (pure, as in a Lambda) or name a path of the host's checkout: that
 * read of the local tree is the one input this handler takes from outside the message (documented in
 * docs/architect.md); everything it produces goes through the trigger's effects.
 */
export const ArchitectCommandEnvelope = envelopeOf(events.architect.requested);
export type ArchitectCommandEnvelope = z.infer<typeof ArchitectCommandEnvelope>;

interface Analysed {
  root: string;
  scope: string;
  result: AnalysisResult;
  baseline?: Snapshot;
}

function analyse(cmd: ArchitectCommand): Analysed {
  if (cmd.sources !== undefined) {
    const result = analyzeSources(cmd.sources, cmd.parts !== undefined ? { parts: cmd.parts } : {}, "inline");
    return { root: "(inline)", scope: ".", result };
  }
  const path = checkedPath(cmd.path as string);
  const { root, scope, result } = analyzePath({
    path,
    ...(cmd.parts !== undefined ? { parts: cmd.parts } : {}),
  });
  const baseline = cmd.gate ? loadBaseline(loadProject(path)) : undefined;
  return { root, scope, result, ...(baseline !== undefined ? { baseline } : {}) };
}

export const definition = defineFunction<ArchitectCommandEnvelope, undefined>({
  name: "architect",
  input: ArchitectCommandEnvelope,
  tools: (deps) => architectTools(deps),
  // Not awaited: the warm-up runs in the CPU pool while the system starts.
  background: async (deps) => {
    void warmAnalysis(deps);
    return { stop: async () => {} };
  },
  handle(batch, ctx): Effects<undefined> {
    const out: OutputEvent[] = [];
    const objects: OutputObject[] = [];
    for (const msg of batch) {
      const cause = msg.seq;
      const cmd = msg.event.data;
      const runId = cmd.runId ?? msg.event.id;
      let analysed: Analysed;
      try {
        analysed = analyse(cmd);
      } catch (err) {
        if (!(err instanceof AnalysisInputError)) throw err;
        ctx.logger.warn({ runId, reason: err.message }, "analysis refused");
        out.push(outputOf(events.architect.failed, cause, { runId, reason: err.message }));
        continue;
      }
      const { root, scope, result, baseline } = analysed;
      const name = analysisObjectName(runId);
      const data: AnalysisCompleted = {
        runId,
        root,
        scope,
        resultObject: name,
        files: result.files,
        lines: result.lines,
        duplicates: result.duplicates.length,
        duplicatedPercent: result.duplication.percent,
        layerViolations: result.layer_violations.length,
        cycles: result.cycles.length,
        functionsOverThresholds: result.complexity.filter((f) => f.over.length > 0).length,
        timings_ms: { ...result.timings_ms },
        snapshot: snapshotOf(result),
        gate: cmd.gate,
        ...(baseline !== undefined ? { baseline } : {}),
      };
      out.push(outputOf(events.architect.completed, cause, data));
      objects.push({ cause, name, data: { runId, root, scope, ...result } });
    }
    return { events: out, objects };
  },
});
