import { z } from "zod";
import { evaluateGate, GateConditions, Snapshot } from "../../core/analysis/gate.ts";
import { AnalysisInputError, checkedPath, runGate } from "../../core/analysis/run.ts";
import { GateResultSchema, TimingsSchema } from "../../core/analysis/schemas.ts";
import { poolOptionsOf, pooled, toolRunner } from "../../core/compute/pool.ts";
import type { FunctionToolDeps } from "../../core/functions/contract.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { ToolError } from "../../core/tools/errors.ts";
import { defineTool, type Tool } from "../../core/tools/tool.ts";
import { snakeTool } from "../../core/tools/snake.ts";
import type { QualityState } from "./command.ts";

/**
 * The quality gate's tool. Two ways in:
 *   - `path` (+ `base`, `coverage`, `config`): the gate on a checkout's working tree, new code being
 *     the diff from `base` or, without it, what changed since the committed baseline — what
 *     `bot4 gate` runs;
 *   - `after` (+ `before`, `conditions`): two analyses' snapshots compared directly.
 */
const Input = z
  .object({
    path: z.string().min(1).max(1_000).optional(),
    base: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[A-Za-z0-9_./~^@{}-]+$/, "a git revision (branch, tag, sha, HEAD~1)")
      .optional(),
    coverage: z.string().min(1).max(1_000).optional(),
    config: z.string().min(1).max(1_000).optional(),
    before: Snapshot.optional(),
    after: Snapshot.optional(),
    conditions: GateConditions.optional(),
  })
  .strict()
  .refine((a) => (a.path === undefined) !== (a.after === undefined), {
    message: "give either path (a checkout) or after (a snapshot)",
    path: ["path"],
  });

const Output = GateResultSchema.extend({
  against: z.object({ kind: z.enum(["base", "baseline", "none", "snapshot"]), ref: z.string() }),
  root: z.string(),
  timings_ms: TimingsSchema,
});

function invalid(err: unknown, field: string): never {
  if (err instanceof AnalysisInputError) {
    throw new ToolError(RpcCode.InvalidParams, err.message, {
      issues: [{ path: field, message: err.message, code: "custom" }],
    });
  }
  throw err;
}

/**
 * The gate on a checkout (`path`) analyses the whole working tree and reads git: it runs in the CPU
 * pool, off the event loop every agent of an `npm start` process shares. Snapshots compare in thread.
 */
export function qualityTools(deps: FunctionToolDeps<QualityState>): readonly Tool[] {
  const onCheckout = (args: unknown) => (args as { path?: unknown }).path !== undefined;
  return gateTools().map((t) =>
    pooled(t, import.meta.url, "runQualityTool", { ...poolOptionsOf(deps.config), when: onCheckout }),
  );
}

/** The worker side: the gate's handler, inside a pool worker. */
export const runQualityTool = toolRunner("quality", gateTools);

/** The quality gate's tools with their handlers run where they are called. */
function gateTools(): readonly Tool[] {
  const evaluate = defineTool({
    name: "evaluate_gate",
    description:
      "Evaluates the quality gate on new code (Sonar way): duplicated lines on new code ≤ 3 %, no new layer violation or import circle, no new function over the complexity thresholds, coverage on new code ≥ 80 % when an istanbul/vitest JSON coverage report is given. New code: the diff from `base` to the working tree of `path`, what changed since the committed baseline, or `after` against `before`. Returns passed/failed with each condition's value and the failing files and lines.",
    input: Input,
    output: Output,
    handler: (args) => {
      if (args.after !== undefined) {
        const t0 = performance.now();
        const conditions =
          args.conditions ??
          GateConditions.parse({
            new_duplicated_lines_density: {},
            new_layer_violations: { max: 0 },
            new_cycles: { max: 0 },
            new_complex_functions: { max: 0 },
          });
        const result = evaluateGate(args.before, args.after, { mode: "files" }, conditions);
        return {
          ...result,
          against: { kind: args.before === undefined ? ("none" as const) : ("snapshot" as const), ref: "" },
          root: "(snapshots)",
          timings_ms: { gate: Math.round((performance.now() - t0) * 100) / 100 },
        };
      }
      let path: string;
      try {
        path = checkedPath(args.path as string);
      } catch (err) {
        return invalid(err, "path");
      }
      try {
        const run = runGate({
          path,
          ...(args.base !== undefined ? { base: args.base } : {}),
          ...(args.coverage !== undefined ? { coverage: checkedPath(args.coverage) } : {}),
          ...(args.config !== undefined ? { config: checkedPath(args.config) } : {}),
        });
        return { ...run.gate, against: run.against, root: run.root, timings_ms: run.timings_ms };
      } catch (err) {
        const field = err instanceof Error && err.message.startsWith("base:") ? "base" : "path";
        return invalid(err, field);
      }
    },
  });
  return [evaluate].map(snakeTool);
}
