import { natsBus } from "../../adapters/nats/bus.ts";
import { z } from "zod";
import { findAgent } from "../../core/agents/manifest.ts";
import { readInstances } from "../../adapters/nats/agent-registry.ts";
import type { Bus } from "../../adapters/nats/bus.ts";
import type { FunctionToolDeps } from "../../core/functions/contract.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { ToolError } from "../../core/tools/errors.ts";
import { objectStores } from "../../core/subjects.ts";
import { defineTool, type Tool } from "../../core/tools/tool.ts";
import { snakeTool } from "../../core/tools/snake.ts";
import { newRunId, reportObjectName, runAndReport } from "./run.ts";
import { ValidateOptions, ValidationReport } from "./validator.ts";

const RunId = z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, "a run id as validate_contracts returns it");

const ValidateInput = ValidateOptions.extend({
  /** true: answer with the report when the run ends; false: answer at once with the run id (poll validation_report). */
  wait: z.boolean().default(true),
}).strict();

const RunAnswer = z.object({
  runId: z.string(),
  status: z.enum(["running", "done", "failed", "unknown"]),
  report: ValidationReport.optional(),
  error: z.string().optional(),
});

/**
 * `agent` must name a manifest agent (or its seed alias) with a running instance: otherwise the run
 * would check nothing and pass (-32602 naming `agent`).
 */
async function checkAgent(bus: Bus, nameOrAlias: string): Promise<void> {
  const agent = findAgent(nameOrAlias);
  const refuse = (message: string) =>
    new ToolError(RpcCode.InvalidParams, message, { issues: [{ path: "agent", message, code: "custom" }] });
  if (agent === undefined) throw refuse(`agent: no agent "${nameOrAlias}" in the manifest`);
  const live = await readInstances(bus);
  if (!live.some((i) => i.agent === agent.name))
    throw refuse(`agent: no instance of "${agent.name}" is running: nothing to validate`);
}

/** The IntegrationValidator's tools: run a validation, and read a run's report. */
export function integrationTools(deps: FunctionToolDeps<undefined>): readonly Tool[] {
  /** Runs of this instance: in flight, or finished here before the stored report is readable. */
  const runs = new Map<
    string,
    { status: "running" | "done" | "failed"; report?: ValidationReport; error?: string }
  >();

  const validate = defineTool({
    name: "validate_contracts",
    description:
      'Checks every tool of every running agent (or one agent) against its JSON Schemas over HTTP, JSON-RPC, NATS and MCP: valid inputs accepted, invalid ones refused naming the field, no server error, outputs conform, read tools answer alike everywhere. State-changing tools run only on the paper account "validation". wait=false answers at once with the run id (poll validation_report).',
    input: ValidateInput,
    output: RunAnswer,
    async handler({ wait, ...options }) {
      const bus = natsBus(await deps.bus());
      if (options.agent !== undefined) await checkAgent(bus, options.agent);
      const runId = newRunId("command");
      runs.set(runId, { status: "running" });
      // Keep the last 50 runs' answers; older ones are read from the object store.
      for (const key of [...runs.keys()].slice(0, Math.max(0, runs.size - 50))) runs.delete(key);
      const work = runAndReport(bus, deps.config, "command", options, runId).then(
        (report) => {
          runs.set(runId, { status: "done", report });
          return report;
        },
        (err: unknown) => {
          const error = err instanceof Error ? err.message : String(err);
          deps.logger.error({ err, runId }, "validation run failed");
          runs.set(runId, { status: "failed", error });
          throw err;
        },
      );
      if (!wait) {
        work.catch(() => {});
        return { runId, status: "running" as const };
      }
      return { runId, status: "done" as const, report: await work };
    },
  });

  const report = defineTool({
    name: "validation_report",
    description:
      "The report of a validation run by run id: running, done (with the report), failed, or unknown.",
    input: z.object({ run_id: RunId }),
    output: RunAnswer,
    async handler({ run_id }) {
      const local = runs.get(run_id);
      if (local !== undefined) return { runId: run_id, ...local };
      const store = await natsBus(await deps.bus()).objectStore(objectStores.results);
      const bytes = await store.getBlob(reportObjectName(run_id));
      if (bytes === null) return { runId: run_id, status: "unknown" as const };
      const parsed = ValidationReport.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
      return parsed.success
        ? { runId: run_id, status: "done" as const, report: parsed.data }
        : { runId: run_id, status: "unknown" as const, error: "the stored report does not parse" };
    },
  });

  return [validate, report].map(snakeTool);
}
