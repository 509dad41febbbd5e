import { z } from "zod";
import type { AnalysisResult } from "./analyze.ts";
import { ComplexityThresholds, DuplicationOptions } from "./analyze.ts";

/**
 * The quality gate on new code, after SonarQube's "Sonar way": conditions on what a change adds,
 * not on the whole tree. Pure: it compares two snapshots (issues with stable fingerprints and the
 * files' content hashes) and knows which lines are new.
 *
 * New code is either
 *   - `lines`: the lines a diff adds (git diff against a base revision), or
 *   - `files`: every line of the files whose content differs from the earlier snapshot (two
 *     analyses, or an analysis against the committed baseline).
 * An issue is new when its fingerprint is absent from the earlier snapshot (for complexity: or its
 * value grew).
 */

export const IssueKind = z.enum(["duplicate", "layer", "cycle", "complexity"]);
export type IssueKind = z.infer<typeof IssueKind>;

const Line = z.number().int().min(0).max(10_000_000);
const PathString = z.string().min(1).max(1_000);

export const GateFragment = z.object({ file: PathString, startLine: Line, endLine: Line });

export const GateIssue = z.object({
  kind: IssueKind,
  fingerprint: z.string().min(1).max(2_000),
  file: PathString,
  line: Line,
  message: z.string().max(4_000),
  /** The metric's value (complexity), the clone's tokens (duplicate). */
  value: z.number().finite().optional(),
  /** Both fragments of a clone. */
  fragments: z.array(GateFragment).max(2).optional(),
});
export type GateIssue = z.infer<typeof GateIssue>;

export const Snapshot = z.object({
  version: z.literal(1),
  /** The commit the snapshot was taken at, when known. */
  commit: z.string().max(100).optional(),
  files: z.record(PathString, z.object({ sha: z.string().max(64), lines: Line })),
  issues: z.array(GateIssue).max(100_000),
});
export type Snapshot = z.infer<typeof Snapshot>;

const Max = z.object({ max: z.number().min(0).max(1_000_000) }).strict();
export const GateConditions = z
  .object({
    new_duplicated_lines_density: z
      .object({
        max: z.number().min(0).max(100).default(3),
        /** Below this many new lines the condition is not evaluated (as SonarQube does under 20). */
        minNewLines: z.number().int().min(0).max(1_000_000).default(20),
      })
      .strict()
      .optional(),
    new_layer_violations: Max.optional(),
    new_cycles: Max.optional(),
    new_complex_functions: Max.optional(),
    new_coverage: z
      .object({ min: z.number().min(0).max(100) })
      .strict()
      .optional(),
  })
  .strict();
export type GateConditions = z.infer<typeof GateConditions>;

export const GateConfig = z
  .object({
    $schema: z.string().optional(),
    comment: z.string().max(2_000).optional(),
    /** The layer rules file, relative to the root. */
    rules: z.string().min(1).max(1_000).default("architect.rules.json"),
    /** The committed baseline, relative to the root. */
    baseline: z.string().min(1).max(1_000).default("quality-baseline.json"),
    /** Paths (regular expressions) left out of the analysis. */
    exclude: z.array(z.string().max(1_000)).max(200).default([]),
    duplication: DuplicationOptions.default(DuplicationOptions.parse({})),
    complexity: ComplexityThresholds.default(ComplexityThresholds.parse({})),
    conditions: GateConditions.default({
      new_duplicated_lines_density: { max: 3, minNewLines: 20 },
      new_layer_violations: { max: 0 },
      new_cycles: { max: 0 },
      new_complex_functions: { max: 0 },
      new_coverage: { min: 80 },
    }),
  })
  .strict();
export type GateConfig = z.infer<typeof GateConfig>;

/** Which lines are new: per file (a diff), or whole changed files. */
export type NewCode =
  | { readonly mode: "lines"; readonly lines: ReadonlyMap<string, ReadonlySet<number>> }
  | { readonly mode: "files" };

/** Per file: the lines holding a statement and the lines whose statements all ran (istanbul JSON). */
export type LineCoverage = ReadonlyMap<
  string,
  { readonly coverable: ReadonlySet<number>; readonly covered: ReadonlySet<number> }
>;

export interface GateFailure {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

export interface GateCondition {
  readonly metric: keyof GateConditions;
  readonly status: "ok" | "error" | "not_evaluated";
  readonly value: number | null;
  readonly op: "<=" | ">=";
  readonly threshold: number;
  readonly detail: string;
  readonly failures: readonly GateFailure[];
}

export interface GateResult {
  readonly status: "passed" | "failed";
  readonly conditions: readonly GateCondition[];
  readonly newCode: { readonly mode: "lines" | "files"; readonly files: number; readonly lines: number };
  readonly newIssues: number;
}

/** The gate's view of an analysis: errors only (warn/info layer rules are not gated). */
export function snapshotOf(result: AnalysisResult, commit?: string): Snapshot {
  const issues: GateIssue[] = [];
  for (const d of result.duplicates) {
    issues.push({
      kind: "duplicate",
      fingerprint: d.fingerprint,
      file: d.b.file,
      line: d.b.startLine,
      message: `${d.kind} clone (${d.tokens} tokens)`,
      value: d.tokens,
      fragments: [d.a, d.b],
    });
  }
  for (const v of result.layer_violations) {
    if (v.severity !== "error") continue;
    issues.push({
      kind: "layer",
      fingerprint: v.fingerprint,
      file: v.from,
      line: v.line,
      message: `${v.rule}: ${v.message}`,
    });
  }
  for (const c of result.cycles) {
    if (c.severity !== "error") continue;
    issues.push({
      kind: "cycle",
      fingerprint: c.fingerprint,
      file: c.modules[0] as string,
      line: c.line,
      message: `${c.rule}: import circle ${[...c.modules, c.modules[0]].join(" → ")}`,
    });
  }
  for (const f of result.complexity) {
    for (const metric of f.over) {
      if (metric === "lines") continue;
      const value = metric === "cognitive" ? f.cognitive : f.cyclomatic;
      const limit = metric === "cognitive" ? result.thresholds.cognitive : result.thresholds.cyclomatic;
      issues.push({
        kind: "complexity",
        fingerprint: `complexity:${metric}:${f.file}:${f.name}`,
        file: f.file,
        line: f.line,
        message: `${f.name}: ${metric} complexity ${value} > ${limit}`,
        value,
      });
    }
  }
  issues.sort((a, b) => a.fingerprint.localeCompare(b.fingerprint));
  const files: Record<string, { sha: string; lines: number }> = {};
  for (const k of Object.keys(result.fileHashes).sort())
    files[k] = result.fileHashes[k] as { sha: string; lines: number };
  return { version: 1, ...(commit !== undefined ? { commit } : {}), files, issues };
}

const pct = (a: number, b: number) => Math.round((10_000 * a) / b) / 100;

/** Evaluates the configured conditions on what `after` adds to `before` (undefined: everything is new). */
export function evaluateGate(
  before: Snapshot | undefined,
  after: Snapshot,
  newCode: NewCode,
  conditions: GateConditions,
  coverage?: LineCoverage,
): GateResult {
  const old = new Map((before?.issues ?? []).map((i) => [i.fingerprint, i]));
  const isNew = (i: GateIssue) => {
    const o = old.get(i.fingerprint);
    return o === undefined || (i.kind === "complexity" && (i.value ?? 0) > (o.value ?? 0));
  };
  const fresh = after.issues.filter(isNew);

  // The new lines, per file.
  const newLines = new Map<string, ReadonlySet<number>>();
  if (newCode.mode === "lines") {
    for (const [f, set] of newCode.lines)
      if (after.files[f] !== undefined && set.size > 0) newLines.set(f, set);
  } else {
    for (const [f, info] of Object.entries(after.files)) {
      if (before?.files[f]?.sha === info.sha) continue;
      newLines.set(f, new Set(Array.from({ length: info.lines }, (_, i) => i + 1)));
    }
  }
  let totalNew = 0;
  for (const s of newLines.values()) totalNew += s.size;

  const out: GateCondition[] = [];
  const c = conditions;
  if (c.new_duplicated_lines_density !== undefined) {
    const cond = c.new_duplicated_lines_density;
    // Lines mode counts every duplicated new line (SonarQube's definition); files mode only the
    // lines of clones that are new, so an edit of a file with an accepted clone is not charged for it.
    const counted = newCode.mode === "lines" ? after.issues : fresh;
    const dup = new Map<string, Set<number>>();
    const failures: GateFailure[] = [];
    for (const i of counted) {
      if (i.kind !== "duplicate") continue;
      let hit: GateFailure | undefined;
      const frs = i.fragments ?? [];
      for (const [k, fr] of frs.entries()) {
        const nl = newLines.get(fr.file);
        if (nl === undefined) continue;
        const other = frs[1 - k] ?? fr;
        for (let l = fr.startLine; l <= fr.endLine; l++) {
          if (!nl.has(l)) continue;
          hit ??= {
            file: fr.file,
            line: fr.startLine,
            message: `${i.message} of ${other.file}:${other.startLine}-${other.endLine}`,
          };
          let s = dup.get(fr.file);
          if (s === undefined) {
            s = new Set();
            dup.set(fr.file, s);
          }
          s.add(l);
        }
      }
      if (hit !== undefined) failures.push(hit);
    }
    let dupLines = 0;
    for (const s of dup.values()) dupLines += s.size;
    const value = totalNew === 0 ? 0 : pct(dupLines, totalNew);
    const evaluated = totalNew >= cond.minNewLines;
    const failed = evaluated && value > cond.max;
    out.push({
      metric: "new_duplicated_lines_density",
      status: evaluated ? (failed ? "error" : "ok") : "not_evaluated",
      value,
      op: "<=",
      threshold: cond.max,
      detail: `${dupLines} duplicated of ${totalNew} new lines${evaluated ? "" : ` (fewer than ${cond.minNewLines} new lines)`}`,
      failures: failed ? failures : [],
    });
  }
  const countCondition = (
    metric: "new_layer_violations" | "new_cycles" | "new_complex_functions",
    kind: IssueKind,
    what: string,
  ) => {
    const cond = c[metric];
    if (cond === undefined) return;
    const list = fresh.filter((i) => i.kind === kind);
    const failed = list.length > cond.max;
    out.push({
      metric,
      status: failed ? "error" : "ok",
      value: list.length,
      op: "<=",
      threshold: cond.max,
      detail: `${list.length} new ${what}`,
      failures: failed ? list.map((i) => ({ file: i.file, line: i.line, message: i.message })) : [],
    });
  };
  countCondition("new_layer_violations", "layer", "layer violation(s)");
  countCondition("new_cycles", "cycle", "import circle(s)");
  countCondition("new_complex_functions", "complexity", "function(s) over the complexity thresholds");

  if (c.new_coverage !== undefined) {
    const cond = c.new_coverage;
    if (coverage === undefined) {
      out.push({
        metric: "new_coverage",
        status: "not_evaluated",
        value: null,
        op: ">=",
        threshold: cond.min,
        detail: "no coverage report given",
        failures: [],
      });
    } else {
      let coverable = 0;
      let covered = 0;
      const uncovered: GateFailure[] = [];
      for (const [file, lines] of [...newLines].sort((a, b) => a[0].localeCompare(b[0]))) {
        const cov = coverage.get(file);
        if (cov === undefined) continue;
        let runStart = -1;
        let prev = -2;
        const flush = () => {
          if (runStart >= 0)
            uncovered.push({ file, line: runStart, message: `lines ${runStart}-${prev} not covered` });
          runStart = -1;
        };
        for (const l of [...lines].sort((a, b) => a - b)) {
          if (!cov.coverable.has(l)) continue;
          coverable++;
          if (cov.covered.has(l)) {
            covered++;
            flush();
          } else {
            if (runStart < 0 || l !== prev + 1) {
              flush();
              runStart = l;
            }
            prev = l;
          }
        }
        flush();
      }
      const value = coverable === 0 ? null : pct(covered, coverable);
      const failed = value !== null && value < cond.min;
      out.push({
        metric: "new_coverage",
        status: value === null ? "not_evaluated" : failed ? "error" : "ok",
        value,
        op: ">=",
        threshold: cond.min,
        detail:
          coverable === 0
            ? "no coverable new lines in the report"
            : `${covered} of ${coverable} coverable new lines covered`,
        failures: failed ? uncovered : [],
      });
    }
  }
  return {
    status: out.some((x) => x.status === "error") ? "failed" : "passed",
    conditions: out,
    newCode: { mode: newCode.mode, files: newLines.size, lines: totalNew },
    newIssues: fresh.length,
  };
}

/** istanbul's coverage-final.json (vitest's `json` reporter): statement map and hit counts per file. */
export const IstanbulCoverage = z.record(
  z.string(),
  z.object({
    path: z.string().optional(),
    statementMap: z.record(
      z.string(),
      z.object({ start: z.object({ line: Line }), end: z.object({ line: Line }) }),
    ),
    s: z.record(z.string(), z.number().int().min(0)),
  }),
);

/** Line coverage from an istanbul report; `toRelative` maps its (absolute) paths to the analysis's. */
export function lineCoverage(
  report: z.infer<typeof IstanbulCoverage>,
  toRelative: (p: string) => string,
): LineCoverage {
  const out = new Map<string, { coverable: Set<number>; covered: Set<number> }>();
  for (const [key, file] of Object.entries(report)) {
    const path = toRelative(file.path ?? key);
    const coverable = new Set<number>();
    const missed = new Set<number>();
    for (const [id, loc] of Object.entries(file.statementMap)) {
      const l = loc.start.line;
      coverable.add(l);
      if ((file.s[id] ?? 0) === 0) missed.add(l);
    }
    out.set(path, { coverable, covered: new Set([...coverable].filter((l) => !missed.has(l))) });
  }
  return out;
}
