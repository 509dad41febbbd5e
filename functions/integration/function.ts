import type { z } from "zod";
import { envelopeOf, events } from "../../core/events/catalogue.ts";
import { outputOf } from "../../core/functions/outputs.ts";
import {
  defineFunction,
  type Effects,
  type OutputEvent,
  type OutputObject,
} from "../../core/functions/contract.ts";
import { reportObjectName } from "./run.ts";
import { integrationTools } from "./tools.ts";
import { watchRegistrations } from "./watch.ts";

/**
 * IntegrationValidator. The validation itself does I/O (it calls every tool), so it runs where I/O is
 * allowed — the `validate_contracts` tool, and the background watcher that validates an agent when a
 * new version of it registers — and hands its report to the pure handler as a `cmd.integration.report`
 * command. The handler turns each report into an `integration.validated` event (and an
 * `integration.failed` one when anything failed) and stores the full report as
 * `integration/<runId>.json` in the results object store, with deterministic ids.
 */

/** The report command as the catalogue has it (`integration.report`); any other type is dead-lettered. */
export const IntegrationInput = envelopeOf(events.integration.report);
export type IntegrationInput = z.infer<typeof IntegrationInput>;

export const definition = defineFunction<IntegrationInput, undefined>({
  name: "integration",
  input: IntegrationInput,
  tools: (deps) => integrationTools(deps),
  background: (deps) => watchRegistrations(deps),
  handle(batch): Effects<undefined> {
    const out: OutputEvent[] = [];
    const objects: OutputObject[] = [];
    for (const m of batch) {
      const { report, trigger } = m.event.data;
      const summary = {
        runId: report.runId,
        trigger,
        passed: report.passed,
        totals: report.totals,
        agents: report.agents,
        durationMs: report.durationMs,
        reportObject: reportObjectName(report.runId),
      };
      out.push(outputOf(events.integration.validated, m.seq, summary));
      if (!report.passed) {
        const failures = report.failures.slice(0, 20);
        out.push(outputOf(events.integration.failed, m.seq, { ...summary, failures }));
      }
      objects.push({ cause: m.seq, name: reportObjectName(report.runId), data: { trigger, ...report } });
    }
    return { events: out, objects };
  },
});
