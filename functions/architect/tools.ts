import { z } from "zod";
import { AnalysisPart, ComplexityThresholds, tokenizeSources } from "../../core/analysis/analyze.ts";
import { decompose } from "../../core/analysis/decompose.ts";
import { buildGraph } from "../../core/analysis/graph.ts";
import { RulesFile } from "../../core/analysis/rules.ts";
import { AnalysisInputError, analyzePath, checkedPath, loadProject } from "../../core/analysis/run.ts";
import {
  AnalysisReportSchema,
  ClonePairSchema,
  CycleSchema,
  DuplicationSummarySchema,
  FunctionReportSchema,
  list,
  LayerViolationSchema,
  TaskSchema,
  ThresholdsSchema,
} from "../../core/analysis/schemas.ts";
import { readSources } from "../../core/analysis/workspace.ts";
import { poolAvailable, poolOptionsOf, pooled, runPooled, toolRunner } from "../../core/compute/pool.ts";
import type { FunctionToolDeps } from "../../core/functions/contract.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { ToolError } from "../../core/tools/errors.ts";
import { defineTool, type Tool } from "../../core/tools/tool.ts";
import { snakeTool } from "../../core/tools/snake.ts";

/**
 * The architect's tools: the same analysis as the COMMANDS path and the `bot4 analyze` CLI, on a
 * folder or file of the machine the function runs on. A path that does not exist, lies outside the
 * working and temporary directories, or whose configuration does not parse is invalid params
 * (-32602) naming the field.
 *
 * Every analysis reads and parses a whole checkout (about a second for this repository, several on a
 * cold start), so the tools run in the CPU pool: in `npm start` the event loop they would block serves
 * every agent of the process (a blocked loop there closed kept-alive HTTP connections under their
 * clients' next request: ECONNRESET).
 */

const PathArg = z.string().min(1).max(1_000).default(".");
const Limit = z.number().int().min(0).max(100_000).default(500);

function invalid(err: unknown): never {
  if (err instanceof AnalysisInputError) {
    const field = /^(\w+):/.exec(err.message)?.[1] ?? "path";
    throw new ToolError(RpcCode.InvalidParams, err.message, {
      issues: [
        {
          path: field === "base" || field === "rules" ? field : "path",
          message: err.message,
          code: "custom",
        },
      ],
    });
  }
  throw err;
}

/** Runs `fn` with analysis input errors mapped to -32602. */
function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    return invalid(err);
  }
}

const truncatedOf = (lists: Record<string, { total: number; limit: number }>) =>
  Object.fromEntries(
    Object.entries(lists)
      .filter(([, v]) => v.total > v.limit)
      .map(([k, v]) => [k, v.total]),
  );

export function architectTools(deps: FunctionToolDeps<undefined>): readonly Tool[] {
  const pool = poolOptionsOf(deps.config);
  return analysisTools().map((t) => snakeTool(pooled(t, import.meta.url, "runArchitectTool", pool)));
}

/** The worker side: the same tools' handlers, inside a pool worker. */
export const runArchitectTool = toolRunner("architect", analysisTools);

/**
 * One analysis of the checkout the process runs in, in the pool, when the function starts: the first
 * one loads and compiles the TypeScript parser and parses every file (≈ 10 s on a busy 2-core
 * machine, past the 10 s tool timeout), later ones reuse the worker's per-file cache (≈ 0.5 s).
 * Resolves when done; a failure (no checkout here) is only logged.
 */
export async function warmAnalysis(deps: FunctionToolDeps<undefined>): Promise<void> {
  if (!poolAvailable()) return;
  const started = performance.now();
  try {
    await runPooled(
      import.meta.url,
      "runArchitectTool",
      { tool: "analyze_code", args: { path: ".", allFunctions: false, limit: 0 } }, // the handler's own (camelCase) args
      "architect warm-up",
      poolOptionsOf(deps.config),
    );
    deps.logger.debug({ ms: Math.round(performance.now() - started) }, "architect analysis warmed");
  } catch (err) {
    deps.logger.info({ err }, "architect warm-up analysis failed (the first call will be slower)");
  }
}

/** The architect's tools with their handlers run where they are called. */
function analysisTools(): readonly Tool[] {
  const analyzeCode = defineTool({
    name: "analyze_code",
    description:
      "Full analysis of a folder or file: type-1/type-2 clone pairs with the duplicated share per file, layer-rule violations and import circles (architect.rules.json), cyclomatic and cognitive complexity per function, function length and file size against thresholds, and the time of each part. Lists are cut at `limit` (counted in `truncated`); `complexity` lists the functions over a threshold unless all_functions.",
    input: z
      .object({
        path: PathArg,
        parts: z.array(AnalysisPart).min(1).max(3).optional(),
        minTokens: z.number().int().min(10).max(10_000).optional(),
        minLines: z.number().int().min(1).max(10_000).optional(),
        allFunctions: z.boolean().default(false),
        limit: Limit,
      })
      .strict(),
    output: AnalysisReportSchema.required({ truncated: true }),
    handler: (args) =>
      guarded(() => {
        const path = checkedPath(args.path);
        const { root, scope, result } = analyzePath({
          path,
          ...(args.parts !== undefined ? { parts: args.parts } : {}),
          ...(args.minTokens !== undefined ? { minTokens: args.minTokens } : {}),
          ...(args.minLines !== undefined ? { minLines: args.minLines } : {}),
        });
        const fns = args.allFunctions
          ? result.complexity
          : result.complexity.filter((f) => f.over.length > 0);
        const n = args.limit;
        return {
          root,
          scope,
          files: result.files,
          lines: result.lines,
          tokens: result.tokens,
          duplicates: result.duplicates.slice(0, n),
          duplication: { ...result.duplication, files: result.duplication.files.slice(0, n) },
          layer_violations: result.layer_violations.slice(0, n),
          cycles: result.cycles.slice(0, n),
          orphans: result.orphans.slice(0, n),
          graph: result.graph,
          complexity: fns.slice(0, n),
          large_files: result.large_files,
          thresholds: result.thresholds,
          timings_ms: result.timings_ms,
          truncated: truncatedOf({
            duplicates: { total: result.duplicates.length, limit: n },
            duplication_files: { total: result.duplication.files.length, limit: n },
            layer_violations: { total: result.layer_violations.length, limit: n },
            cycles: { total: result.cycles.length, limit: n },
            orphans: { total: result.orphans.length, limit: n },
            complexity: { total: fns.length, limit: n },
          }),
        };
      }),
  });

  const findDuplicates = defineTool({
    name: "find_duplicates",
    description:
      "Clone pairs (type 1: same tokens; type 2: same shape with renamed identifiers or changed literals) of at least min_tokens tokens over at least min_lines lines (jscpd's defaults 50 and 5), with files, line ranges, tokens and kind, and the duplicated share per file and overall.",
    input: z
      .object({
        path: PathArg,
        minTokens: z.number().int().min(10).max(10_000).optional(),
        minLines: z.number().int().min(1).max(10_000).optional(),
        kinds: z
          .array(z.enum(["type1", "type2"]))
          .min(1)
          .max(2)
          .optional(),
        limit: Limit,
      })
      .strict(),
    output: z.object({
      files: z.number().int(),
      tokens: z.number().int(),
      duplicates: list(ClonePairSchema),
      duplication: DuplicationSummarySchema,
      ms: z.number(),
      truncated: z.record(z.string(), z.number().int()),
    }),
    handler: (args) =>
      guarded(() => {
        const path = checkedPath(args.path);
        const { result } = analyzePath({
          path,
          parts: ["duplicates"],
          ...(args.minTokens !== undefined ? { minTokens: args.minTokens } : {}),
          ...(args.minLines !== undefined ? { minLines: args.minLines } : {}),
        });
        const pairs =
          args.kinds === undefined
            ? result.duplicates
            : result.duplicates.filter((p) => args.kinds?.includes(p.kind));
        return {
          files: result.files,
          tokens: result.tokens,
          duplicates: pairs.slice(0, args.limit),
          duplication: { ...result.duplication, files: result.duplication.files.slice(0, args.limit) },
          ms: (result.timings_ms.tokenize ?? 0) + (result.timings_ms.duplicates ?? 0),
          truncated: truncatedOf({ duplicates: { total: pairs.length, limit: args.limit } }),
        };
      }),
  });

  const checkLayers = defineTool({
    name: "check_layers",
    description:
      "Checks the layer rules (dependency-cruiser's model: forbidden / allowed / required, import circles, orphans) over the import graph of a folder: the project's architect.rules.json, or `rules` given inline.",
    input: z.object({ path: PathArg, rules: RulesFile.optional() }).strict(),
    output: z.object({
      modules: z.number().int(),
      dependencies: z.number().int(),
      layer_violations: list(LayerViolationSchema),
      cycles: list(CycleSchema),
      orphans: list(z.string()),
      ok: z.boolean(),
    }),
    handler: (args) =>
      guarded(() => {
        const path = checkedPath(args.path);
        const { result } = analyzePath({
          path,
          parts: ["layers"],
          ...(args.rules !== undefined ? { rules: args.rules } : {}),
        });
        const errors =
          result.layer_violations.filter((v) => v.severity === "error").length +
          result.cycles.filter((c) => c.severity === "error").length;
        return {
          modules: result.graph.modules,
          dependencies: result.graph.dependencies,
          layer_violations: result.layer_violations,
          cycles: result.cycles,
          orphans: result.orphans,
          ok: errors === 0,
        };
      }),
  });

  const complexityReport = defineTool({
    name: "complexity_report",
    description:
      "Cyclomatic (ESLint's complexity) and cognitive (SonarJS S3776) complexity per function, function length and file size, against thresholds (defaults: cognitive 15, cyclomatic 20, 200 lines per function, 1000 per file). only_over (default) lists only the functions over a threshold, worst first.",
    input: z
      .object({
        path: PathArg,
        cognitive: ComplexityThresholds.shape.cognitive.optional(),
        cyclomatic: ComplexityThresholds.shape.cyclomatic.optional(),
        functionLines: ComplexityThresholds.shape.functionLines.optional(),
        fileLines: ComplexityThresholds.shape.fileLines.optional(),
        onlyOver: z.boolean().default(true),
        limit: Limit,
      })
      .strict(),
    output: z.object({
      functions: z.number().int(),
      over: z.number().int(),
      complexity: list(FunctionReportSchema),
      large_files: list(z.object({ file: z.string(), lines: z.number().int() })),
      thresholds: ThresholdsSchema,
      ms: z.number(),
    }),
    handler: (args) =>
      guarded(() => {
        const path = checkedPath(args.path);
        const { result } = analyzePath({
          path,
          parts: ["complexity"],
          thresholds: {
            ...(args.cognitive !== undefined ? { cognitive: args.cognitive } : {}),
            ...(args.cyclomatic !== undefined ? { cyclomatic: args.cyclomatic } : {}),
            ...(args.functionLines !== undefined ? { functionLines: args.functionLines } : {}),
            ...(args.fileLines !== undefined ? { fileLines: args.fileLines } : {}),
          },
        });
        const over = result.complexity.filter((f) => f.over.length > 0);
        const list = (args.onlyOver ? over : [...result.complexity]).sort(
          (a, b) => b.cognitive - a.cognitive || b.cyclomatic - a.cyclomatic || a.file.localeCompare(b.file),
        );
        return {
          functions: result.complexity.length,
          over: over.length,
          complexity: list.slice(0, args.limit),
          large_files: result.large_files,
          thresholds: result.thresholds,
          ms: (result.timings_ms.tokenize ?? 0) + (result.timings_ms.complexity ?? 0),
        };
      }),
  });

  const decomposeTask = defineTool({
    name: "decompose_task",
    description:
      "Turns a change request naming files, symbols or agents into an ordered task list from the import graph: what to change first (dependencies before dependents), every affected module and its tests, the agent that owns each step and why it is there. Deterministic.",
    input: z
      .object({
        path: PathArg,
        request: z.string().min(1).max(10_000),
        files: z.array(z.string().min(1).max(1_000)).max(500).optional(),
        symbols: z.array(z.string().min(1).max(200)).max(500).optional(),
        agents: z.array(z.string().min(1).max(100)).max(50).optional(),
      })
      .strict(),
    output: z.object({
      tasks: list(TaskSchema),
      unknown: list(z.string()),
      seeds: list(z.string()),
    }),
    handler: (args) =>
      guarded(() => {
        const path = checkedPath(args.path);
        const { root } = loadProject(path);
        const tokens = tokenizeSources(readSources(root), root);
        const graph = buildGraph(new Map(tokens.map((t) => [t.path, t.imports])));
        const exportsOf = new Map(tokens.map((t) => [t.path, t.exports]));
        return decompose(graph, exportsOf, {
          request: args.request,
          ...(args.files !== undefined ? { files: args.files } : {}),
          ...(args.symbols !== undefined ? { symbols: args.symbols } : {}),
          ...(args.agents !== undefined ? { agents: args.agents } : {}),
        });
      }),
  });

  return [analyzeCode, findDuplicates, checkLayers, complexityReport, decomposeTask];
}
