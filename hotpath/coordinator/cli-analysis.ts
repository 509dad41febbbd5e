import { fromSnake, renameKeys, snakeKey, toSnake } from "../../core/tools/snake.ts";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { AnalysisPart, type AnalysisResult } from "../../core/analysis/analyze.ts";
import type { GateCondition, GateResult } from "../../core/analysis/gate.ts";
import { AnalysisInputError, analyzePath, runGate, writeBaseline } from "../../core/analysis/run.ts";
import { AnalysisReportSchema, GateResultSchema } from "../../core/analysis/schemas.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { ToolError } from "../../core/tools/errors.ts";
import { ANALYSIS_USAGE } from "./cli-analysis-usage.ts";
import { CoordinatorClient } from "./http-directory.ts";

/**
 * `bot4 analyze` and `bot4 gate`: the architect's analysis and the quality gate from the command line.
 * By default they run the same code in process (no system needed, as a linter runs in CI); with
 * `--remote` or BOT4_URL set they call the running agents' tools through the coordinator.
 */

export interface AnalysisIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

class AnalysisUsageError extends Error {
  override name = "AnalysisUsageError";
}

const CliEnv = z.object({
  BOT4_URL: z.string().url({ message: "must be an http(s) URL" }).optional(),
  BOT4_API_KEY: z.string().min(1).optional(),
  BOT4_CLI_TIMEOUT_MS: z.coerce.number().int().positive().default(120_000),
});

const PositiveInt = (name: string) =>
  z.coerce
    .number({ message: `${name} must be a number` })
    .int(`${name} must be an integer`)
    .min(1);

const OPTIONS = {
  json: { type: "boolean", default: false },
  remote: { type: "boolean", default: false },
  local: { type: "boolean", default: false },
  url: { type: "string" },
  key: { type: "string" },
  timeout: { type: "string" },
  base: { type: "string" },
  coverage: { type: "string" },
  config: { type: "string" },
  "update-baseline": { type: "boolean", default: false },
  "min-tokens": { type: "string" },
  "min-lines": { type: "string" },
  parts: { type: "string" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

/** The coordinator client when the command goes to the running agents, else undefined (in process). */
function remoteClient(
  values: Values,
  env: Record<string, string | undefined>,
): CoordinatorClient | undefined {
  const parsed = CliEnv.safeParse({
    BOT4_URL: values.url ?? (env.BOT4_URL || undefined),
    BOT4_API_KEY: values.key ?? (env.BOT4_API_KEY || undefined),
    BOT4_CLI_TIMEOUT_MS: values.timeout ?? (env.BOT4_CLI_TIMEOUT_MS || undefined),
  });
  if (!parsed.success) {
    throw new AnalysisUsageError(
      parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join("; "),
    );
  }
  const e = parsed.data;
  if (values.local || (!values.remote && e.BOT4_URL === undefined)) return undefined;
  return new CoordinatorClient({
    url: e.BOT4_URL ?? "http://127.0.0.1:3000",
    timeoutMs: e.BOT4_CLI_TIMEOUT_MS,
    ...(e.BOT4_API_KEY !== undefined ? { apiKey: e.BOT4_API_KEY } : {}),
  });
}

async function analyzeCommand(
  target: string | undefined,
  values: Values,
  client: CoordinatorClient | undefined,
  io: AnalysisIo,
) {
  if (target === undefined) throw new AnalysisUsageError("analyze needs a <path>");
  const minTokens = values["min-tokens"];
  const minLines = values["min-lines"];
  const opts = {
    ...(minTokens !== undefined ? { minTokens: parse(PositiveInt("--min-tokens"), minTokens) } : {}),
    ...(minLines !== undefined ? { minLines: parse(PositiveInt("--min-lines"), minLines) } : {}),
    ...(values.parts !== undefined
      ? { parts: parse(z.array(AnalysisPart).min(1), values.parts.split(",")) }
      : {}),
  };
  // The tools answer snake_case (min_tokens, duplicated_lines); --json prints that form either way.
  const report =
    client === undefined
      ? toJson(analyzePath({ path: target, ...opts }))
      : ReportFromWire.parse(
          await client.call("architect", "analyze_code", {
            path: resolve(target),
            ...renameKeys(opts, snakeKey),
            limit: 100_000,
          }),
        );
  io.out(
    values.json
      ? JSON.stringify(toSnake(AnalysisReportSchema, report), null, 2)
      : formatAnalysis(report as AnalysisJson),
  );
  return 0;
}

async function gateCommand(
  target: string | undefined,
  values: Values,
  client: CoordinatorClient | undefined,
  io: AnalysisIo,
) {
  const path = target ?? ".";
  if (values["update-baseline"]) {
    const { file, issues, refused } = writeBaseline(path, values.config);
    io.out(`baseline written: ${file} (${issues} accepted issues)`);
    if (refused > 0)
      io.out(`not accepted: ${refused} layer violation(s) or import circle(s); the layer rules must hold`);
    return refused > 0 ? 1 : 0;
  }
  const args = {
    ...(values.base !== undefined ? { base: values.base } : {}),
    ...(values.coverage !== undefined ? { coverage: resolve(values.coverage) } : {}),
    ...(values.config !== undefined ? { config: resolve(values.config) } : {}),
  };
  const report: GateJson =
    client === undefined
      ? gateJson(runGate({ path, ...args }))
      : fromSnake(GateJsonSchema).parse(
          await client.call("quality", "evaluate_gate", { path: resolve(path), ...args }),
        );
  io.out(values.json ? JSON.stringify(toSnake(GateJsonSchema, report), null, 2) : formatGate(report));
  return report.status === "passed" ? 0 : 1;
}

/** The exit status and message of a failure: 2 for usage and input errors, 1 for the rest. */
function failure(err: unknown, io: AnalysisIo): number {
  if (err instanceof AnalysisUsageError || (err instanceof TypeError && "code" in err)) {
    io.err(`bot4: ${err.message}\n\nusage:\n${ANALYSIS_USAGE}`);
    return 2;
  }
  if (err instanceof AnalysisInputError) {
    io.err(`bot4: ${err.message}`);
    return 2;
  }
  if (err instanceof ToolError) {
    io.err(`bot4: error ${err.code}: ${err.message}`);
    return err.code === RpcCode.InvalidParams ? 2 : 1;
  }
  io.err(`bot4: ${err instanceof Error ? err.message : String(err)}`);
  return 1;
}

/** Runs `bot4 analyze …` or `bot4 gate …`; returns the exit status (0 ok, 1 failed gate/error, 2 usage). */
export async function runAnalysisCli(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  io: AnalysisIo,
): Promise<number> {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: OPTIONS });
    const [command, target, ...extra] = positionals;
    if (extra.length > 0) throw new AnalysisUsageError(`unexpected arguments: ${extra.join(" ")}`);
    const client = remoteClient(values, env);
    if (command === "analyze") return await analyzeCommand(target, values, client, io);
    if (command === "gate") return await gateCommand(target, values, client, io);
    throw new AnalysisUsageError(`unknown command "${command}"`);
  } catch (err) {
    return failure(err, io);
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new AnalysisUsageError(r.error.issues.map((i) => i.message).join("; "));
  return r.data;
}

type AnalysisJson = Omit<AnalysisResult, "fileHashes"> & { root: string; scope: string };

function toJson(a: ReturnType<typeof analyzePath>): AnalysisJson {
  const { fileHashes: _hashes, ...rest } = a.result;
  return { root: a.root, scope: a.scope, ...rest };
}

const GateJsonSchema = GateResultSchema.extend({
  against: z.object({ kind: z.string(), ref: z.string() }),
  root: z.string(),
  timings_ms: z.record(z.string(), z.number()),
});
type GateJson = z.infer<typeof GateJsonSchema>;
const ReportFromWire = fromSnake(AnalysisReportSchema);

function gateJson(run: ReturnType<typeof runGate>): GateJson {
  const g: GateResult = run.gate;
  return GateJsonSchema.parse({ ...g, against: run.against, root: run.root, timings_ms: run.timings_ms });
}

const n = (x: number) => x.toLocaleString("en-US");
const SHOW = 20;

function formatAnalysis(r: AnalysisJson): string {
  const lines: string[] = [];
  const where = r.scope === "." ? r.root : `${r.root} (${r.scope})`;
  lines.push(`analysis of ${where}: ${n(r.files)} files, ${n(r.lines)} lines, ${n(r.tokens)} tokens`);
  const d = r.duplication;
  lines.push("");
  lines.push(
    `duplication: ${d.percent}% of lines (${n(d.duplicatedLines)} of ${n(d.totalLines)}), ${d.byKind.type1} type-1 and ${d.byKind.type2} type-2 clone pairs`,
  );
  for (const p of r.duplicates.slice(0, SHOW)) {
    lines.push(
      `  ${p.kind}  ${String(p.tokens).padStart(4)} tokens  ${p.a.file}:${p.a.startLine}-${p.a.endLine}  ↔  ${p.b.file}:${p.b.startLine}-${p.b.endLine}`,
    );
  }
  if (r.duplicates.length > SHOW)
    lines.push(`  … ${r.duplicates.length - SHOW} more pairs (--json lists all)`);
  if (d.files.length > 0) {
    lines.push("  most duplicated files:");
    for (const f of d.files.slice(0, 5))
      lines.push(`    ${f.percent}%  ${f.file} (${f.duplicatedLines}/${f.lines} lines)`);
  }
  lines.push("");
  lines.push(
    `layers: ${n(r.graph.modules)} modules, ${n(r.graph.dependencies)} imports — ${r.layer_violations.length} violation(s), ${r.cycles.length} import circle(s), ${r.orphans.length} orphan(s)`,
  );
  for (const v of r.layer_violations) lines.push(`  ${v.severity} ${v.rule}: ${v.from}:${v.line} → ${v.to}`);
  for (const c of r.cycles) {
    lines.push(
      `  ${c.severity} ${c.rule}: ${[...c.modules, c.modules[0]].join(" → ")} (${c.modules[0]}:${c.line})`,
    );
  }
  const over = r.complexity.filter((f) => f.over.length > 0);
  const t = r.thresholds;
  lines.push("");
  lines.push(
    `complexity: ${n(r.complexity.length)} functions, ${over.length} over the thresholds (cognitive ${t.cognitive}, cyclomatic ${t.cyclomatic}, ${t.functionLines} lines); ${r.large_files.length} file(s) over ${t.fileLines} lines`,
  );
  const worst = [...over].sort((a, b) => b.cognitive - a.cognitive || b.cyclomatic - a.cyclomatic);
  for (const f of worst.slice(0, SHOW)) {
    lines.push(
      `  ${f.file}:${f.line}  ${f.name}  cognitive ${f.cognitive}, cyclomatic ${f.cyclomatic}, ${f.lines} lines  [${f.over.join(", ")}]`,
    );
  }
  if (worst.length > SHOW) lines.push(`  … ${worst.length - SHOW} more (--json lists all)`);
  for (const f of r.large_files) lines.push(`  ${f.file}: ${n(f.lines)} lines`);
  lines.push("");
  lines.push(
    `time: ${Object.entries(r.timings_ms)
      .map(([k, v]) => `${k} ${v} ms`)
      .join(", ")}`,
  );
  return lines.join("\n");
}

function formatCondition(c: GateCondition | GateJson["conditions"][number]): string[] {
  const mark = c.status === "error" ? "FAIL" : c.status === "ok" ? "ok  " : "n/a ";
  const unit = c.metric === "new_duplicated_lines_density" || c.metric === "new_coverage" ? " %" : "";
  const value = c.value === null ? "-" : `${c.value}${unit}`;
  const out = [`  ${mark} ${c.metric} = ${value} (${c.op} ${c.threshold}${unit}): ${c.detail}`];
  for (const f of c.failures.slice(0, 50)) out.push(`         ${f.file}:${f.line}  ${f.message}`);
  if (c.failures.length > 50) out.push(`         … ${c.failures.length - 50} more (--json lists all)`);
  return out;
}

function formatGate(r: GateJson): string {
  const against =
    r.against.kind === "base"
      ? `the diff from ${r.against.ref}`
      : r.against.kind === "baseline"
        ? `changes since the baseline ${r.against.ref}`
        : "no baseline (all code is new)";
  const lines = [
    `quality gate: ${r.status.toUpperCase()} — new code: ${r.newCode.files} file(s), ${n(r.newCode.lines)} line(s), measured against ${against}; ${r.newIssues} new issue(s)`,
  ];
  for (const c of r.conditions) lines.push(...formatCondition(c));
  lines.push(
    `time: ${Object.entries(r.timings_ms)
      .map(([k, v]) => `${k} ${v} ms`)
      .join(", ")}`,
  );
  return lines.join("\n");
}
