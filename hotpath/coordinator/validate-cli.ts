import { fromSnake, toSnake } from "../../core/tools/snake.ts";
import { z } from "zod";
import { ValidationFailure } from "../../core/events/data/integration.ts";
import type { CoordinatorClient } from "./http-directory.ts";

/**
 * `bot4 validate [--agent <name>] [--json]`: starts a contract validation run on the
 * IntegrationValidator (`integration.validate_contracts` with wait=false, so no tool timeout cuts a
 * long run), polls `integration.validation_report` until it is done, and prints what was checked and
 * every failure. Exit status 0 when nothing failed, 1 otherwise.
 */

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const Report = z.object({
  runId: z.string(),
  durationMs: z.number(),
  inputsPerTool: z.number(),
  totals: z.object({ agents: z.number(), tools: z.number(), inputs: z.number(), failures: z.number() }),
  tools: z.array(z.object({ agent: z.string(), tool: z.string(), inputs: z.number(), failures: z.number() })),
  failures: z.array(ValidationFailure),
  passed: z.boolean(),
});
/** The tools answer snake_case (`run_id`, `duration_ms`); read here in the camelCase shape above. */
const Answer = fromSnake(
  z.object({
    runId: z.string(),
    status: z.enum(["running", "done", "failed", "unknown"]),
    report: Report.optional(),
    error: z.string().optional(),
  }),
);

/** How long `bot4 validate` waits for the run (the validator's own budget is 60 s on the default inputs). */
export const VALIDATE_DEADLINE_MS = 180_000;

export async function validateCommand(
  client: CoordinatorClient,
  options: { agent: string | undefined; json: boolean; pollMs?: number; deadlineMs?: number },
  io: Io,
): Promise<number> {
  const started = Answer.parse(
    await client.call("integration", "validate_contracts", {
      wait: false,
      ...(options.agent !== undefined ? { agent: options.agent } : {}),
    }),
  );
  const deadline = Date.now() + (options.deadlineMs ?? VALIDATE_DEADLINE_MS);
  let answer = started;
  while (answer.status === "running" && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, options.pollMs ?? 1_000));
    answer = Answer.parse(await client.call("integration", "validation_report", { run_id: started.runId }));
  }
  if (answer.status !== "done" || answer.report === undefined) {
    io.err(
      `bot4: validation ${started.runId} ${answer.status === "running" ? "did not finish in time" : answer.status}${answer.error !== undefined ? `: ${answer.error}` : ""}`,
    );
    return 1;
  }
  const r = answer.report;
  if (options.json) {
    io.out(JSON.stringify(toSnake(Report, r), null, 2));
    return r.passed ? 0 : 1;
  }
  io.out(
    `validation ${r.runId}: ${r.totals.tools} tools of ${r.totals.agents} agents, ${r.totals.inputs} inputs (${r.inputsPerTool} generated per tool), ${r.totals.failures} failures, ${(r.durationMs / 1000).toFixed(1)} s`,
  );
  for (const f of r.failures) {
    io.out(
      `  FAIL ${f.agent}.${f.tool} ${f.check} [${f.label}]${f.transport !== undefined ? ` over ${f.transport}` : ""}: ${f.detail}`,
    );
    if (f.input !== undefined) io.out(`       input: ${f.input}`);
  }
  return r.passed ? 0 : 1;
}
