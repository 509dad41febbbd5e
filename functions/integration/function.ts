import { z } from "zod";
import {
  defineFunction,
  type Effects,
  type OutputEvent,
  type OutputObject,
} from "../../core/functions/contract.ts";
import { EventEnvelope } from "../../core/protocol/envelope.ts";
import { subjects } from "../../core/subjects.ts";
import { reportObjectName } from "./run.ts";
import { integrationTools } from "./tools.ts";
import { ValidationReport } from "./validator.ts";
import { watchRegistrations } from "./watch.ts";

/**
 * IntegrationValidator. The validation itself does I/O (it calls every tool), so it runs where I/O is
 * allowed — the `validate_contracts` tool, and the background watcher that validates an agent when a
 * new version of it registers — and hands its report to the pure handler as a `cmd.integration.report`
 * command. The handler turns each report into an `integration.validated` event (and an
 * `integration.failed` one when anything failed) and stores the full report as
 * `integration/<runId>.json` in the results object store, with deterministic ids.
 */

export const reportSubject = subjects.commands.of("integration", "report");
export const reportType = "integration.report";

export const ReportCommand = z.object({
  /** Why the run happened: asked for (`command`), or a new agent version registered (`registered`). */
  trigger: z.enum(["command", "registered"]),
  report: ValidationReport,
});
export type ReportCommand = z.infer<typeof ReportCommand>;

export const IntegrationInput = EventEnvelope.extend({ data: ReportCommand });
export type IntegrationInput = z.infer<typeof IntegrationInput>;

export const eventSubjects = {
  validated: subjects.events.of("integration", "validated"),
  failed: subjects.events.of("integration", "failed"),
};

export const definition = defineFunction<IntegrationInput, undefined>({
  name: "integration",
  input: IntegrationInput,
  tools: (deps) => integrationTools(deps),
  background: (deps) => watchRegistrations(deps),
  handle(batch): Effects<undefined> {
    const events: OutputEvent[] = [];
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
      events.push({
        cause: m.seq,
        subject: eventSubjects.validated,
        type: "integration.validated",
        data: summary,
      });
      if (!report.passed) {
        events.push({
          cause: m.seq,
          subject: eventSubjects.failed,
          type: "integration.failed",
          data: { ...summary, failures: report.failures.slice(0, 20) },
        });
      }
      objects.push({ cause: m.seq, name: reportObjectName(report.runId), data: { trigger, ...report } });
    }
    return { events, objects };
  },
});
