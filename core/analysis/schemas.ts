import { z } from "zod";

/**
 * The zod shapes of what the analysis returns, shared by the architect's and quality gate's tools
 * (their output schemas), the completion events and the CLI.
 */

const Int = z.number().int();
/** A readonly list: the analysis returns readonly arrays. */
export const list = <T extends z.ZodType>(item: T) => z.array(item).readonly();
const Severity = z.enum(["error", "warn", "info"]);

export const FragmentSchema = z.object({ file: z.string(), startLine: Int, endLine: Int });

export const ClonePairSchema = z.object({
  kind: z.enum(["type1", "type2"]),
  tokens: Int,
  a: FragmentSchema,
  b: FragmentSchema,
  fingerprint: z.string(),
});

export const FileDuplicationSchema = z.object({
  file: z.string(),
  lines: Int,
  duplicatedLines: Int,
  percent: z.number(),
});

export const DuplicationSummarySchema = z.object({
  percent: z.number(),
  duplicatedLines: Int,
  totalLines: Int,
  byKind: z.object({ type1: Int, type2: Int }),
  files: list(FileDuplicationSchema),
});

export const LayerViolationSchema = z.object({
  rule: z.string(),
  severity: Severity,
  from: z.string(),
  to: z.string(),
  line: Int,
  message: z.string(),
  fingerprint: z.string(),
});

export const CycleSchema = z.object({
  rule: z.string(),
  severity: Severity,
  modules: list(z.string()),
  component: list(z.string()),
  line: Int,
  fingerprint: z.string(),
});

export const FunctionReportSchema = z.object({
  file: z.string(),
  name: z.string(),
  line: Int,
  endLine: Int,
  lines: Int,
  cyclomatic: Int,
  cognitive: Int,
  reported: z.boolean(),
  over: list(z.enum(["cognitive", "cyclomatic", "lines"])),
});

export const ThresholdsSchema = z.object({
  cognitive: Int,
  cyclomatic: Int,
  functionLines: Int,
  fileLines: Int,
});

export const TaskSchema = z.object({
  step: Int,
  kind: z.enum(["change", "update", "test"]),
  modules: list(z.string()),
  owner: z.string().nullable(),
  area: z.string(),
  reason: z.string(),
  dependsOn: list(Int),
});

export const GateConditionSchema = z.object({
  metric: z.enum([
    "new_duplicated_lines_density",
    "new_layer_violations",
    "new_cycles",
    "new_complex_functions",
    "new_coverage",
  ]),
  status: z.enum(["ok", "error", "not_evaluated"]),
  value: z.number().nullable(),
  op: z.enum(["<=", ">="]),
  threshold: z.number(),
  detail: z.string(),
  failures: list(z.object({ file: z.string(), line: Int, message: z.string() })),
});

export const GateResultSchema = z.object({
  status: z.enum(["passed", "failed"]),
  conditions: list(GateConditionSchema),
  newCode: z.object({ mode: z.enum(["lines", "files"]), files: Int, lines: Int }),
  newIssues: Int,
});

export const TimingsSchema = z.record(z.string(), z.number());

/** A whole analysis as `analyze_code` answers it and `bot4 analyze --json` prints it (lists cut at a limit). */
export const AnalysisReportSchema = z.object({
  root: z.string(),
  scope: z.string(),
  files: Int,
  lines: Int,
  tokens: Int,
  duplicates: list(ClonePairSchema),
  duplication: DuplicationSummarySchema,
  layer_violations: list(LayerViolationSchema),
  cycles: list(CycleSchema),
  orphans: list(z.string()),
  graph: z.object({ modules: Int, dependencies: Int }),
  complexity: list(FunctionReportSchema),
  large_files: list(z.object({ file: z.string(), lines: Int })),
  thresholds: ThresholdsSchema,
  timings_ms: TimingsSchema,
  /** The lists cut at the limit, with their full length. */
  truncated: z.record(z.string(), Int).optional(),
});
