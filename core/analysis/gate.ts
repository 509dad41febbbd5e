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

/** What a condition sees: the new issues, every issue of `after`, and the new lines per file. */
interface Scope {
  readonly fresh: readonly GateIssue[];
  readonly all: readonly GateIssue[];
  readonly mode: NewCode["mode"];
  readonly newLines: ReadonlyMap<string, ReadonlySet<number>>;
  readonly totalNew: number;
}

/** The new lines per file: the diff's, or every line of the files whose hash changed. */
function newLinesOf(
  before: Snapshot | undefined,
  after: Snapshot,
  newCode: NewCode,
): Map<string, ReadonlySet<number>> {
  const out = new Map<string, ReadonlySet<number>>();
  if (newCode.mode === "lines") {
    for (const [f, set] of newCode.lines) if (after.files[f] !== undefined && set.size > 0) out.set(f, set);
    return out;
  }
  for (const [f, info] of Object.entries(after.files)) {
    if (before?.files[f]?.sha === info.sha) continue;
    out.set(f, new Set(Array.from({ length: info.lines }, (_, i) => i + 1)));
  }
  return out;
}

/** The first new line a clone's fragments touch (as a failure), adding its new lines to `dup`. */
function cloneOnNewCode(i: GateIssue, scope: Scope, dup: Map<string, Set<number>>): GateFailure | undefined {
  let hit: GateFailure | undefined;
  const frs = i.fragments ?? [];
  frs.forEach((fr, k) => {
    const nl = scope.newLines.get(fr.file);
    if (nl === undefined) return;
    const other = frs[1 - k] ?? fr;
    const lines = dup.get(fr.file) ?? new Set<number>();
    dup.set(fr.file, lines);
    for (let l = fr.startLine; l <= fr.endLine; l++) if (nl.has(l)) lines.add(l);
    if (hit === undefined && [...nl].some((l) => l >= fr.startLine && l <= fr.endLine)) {
      hit = {
        file: fr.file,
        line: fr.startLine,
        message: `${i.message} of ${other.file}:${other.startLine}-${other.endLine}`,
      };
    }
  });
  return hit;
}

function duplicationCondition(
  cond: NonNullable<GateConditions["new_duplicated_lines_density"]>,
  scope: Scope,
): GateCondition {
  // Lines mode counts every duplicated new line (SonarQube's definition); files mode only the lines
  // of clones that are new, so an edit of a file with an accepted clone is not charged for it.
  const counted = (scope.mode === "lines" ? scope.all : scope.fresh).filter((i) => i.kind === "duplicate");
  const dup = new Map<string, Set<number>>();
  const failures = counted.map((i) => cloneOnNewCode(i, scope, dup)).filter((f) => f !== undefined);
  const dupLines = [...dup.values()].reduce((n, set) => n + set.size, 0);
  const value = scope.totalNew === 0 ? 0 : pct(dupLines, scope.totalNew);
  const evaluated = scope.totalNew >= cond.minNewLines;
  const failed = evaluated && value > cond.max;
  const under = evaluated ? "" : ` (fewer than ${cond.minNewLines} new lines)`;
  return {
    metric: "new_duplicated_lines_density",
    status: statusOf(evaluated, failed),
    value,
    op: "<=",
    threshold: cond.max,
    detail: `${dupLines} duplicated of ${scope.totalNew} new lines${under}`,
    failures: failed ? failures : [],
  };
}

function statusOf(evaluated: boolean, failed: boolean): GateCondition["status"] {
  if (!evaluated) return "not_evaluated";
  return failed ? "error" : "ok";
}

type CountMetric = "new_layer_violations" | "new_cycles" | "new_complex_functions";
const counted: Record<CountMetric, { kind: IssueKind; what: string }> = {
  new_layer_violations: { kind: "layer", what: "layer violation(s)" },
  new_cycles: { kind: "cycle", what: "import circle(s)" },
  new_complex_functions: { kind: "complexity", what: "function(s) over the complexity thresholds" },
};

function countCondition(metric: CountMetric, max: number, scope: Scope): GateCondition {
  const { kind, what } = counted[metric];
  const list = scope.fresh.filter((i) => i.kind === kind);
  const failed = list.length > max;
  return {
    metric,
    status: failed ? "error" : "ok",
    value: list.length,
    op: "<=",
    threshold: max,
    detail: `${list.length} new ${what}`,
    failures: failed ? list.map((i) => ({ file: i.file, line: i.line, message: i.message })) : [],
  };
}

/** Uncovered runs of consecutive coverable lines, as failures. */
function uncoveredRuns(file: string, lines: readonly number[]): GateFailure[] {
  const out: GateFailure[] = [];
  let start = -1;
  let prev = -2;
  for (const l of lines) {
    if (l !== prev + 1 && start >= 0) {
      out.push({ file, line: start, message: `lines ${start}-${prev} not covered` });
      start = -1;
    }
    if (start < 0) start = l;
    prev = l;
  }
  if (start >= 0) out.push({ file, line: start, message: `lines ${start}-${prev} not covered` });
  return out;
}

function coverageCondition(min: number, scope: Scope, coverage: LineCoverage | undefined): GateCondition {
  const base = { metric: "new_coverage" as const, op: ">=" as const, threshold: min };
  if (coverage === undefined) {
    return {
      ...base,
      status: "not_evaluated",
      value: null,
      detail: "no coverage report given",
      failures: [],
    };
  }
  let coverable = 0;
  let covered = 0;
  const uncovered: GateFailure[] = [];
  for (const [file, lines] of [...scope.newLines].sort((a, b) => a[0].localeCompare(b[0]))) {
    const cov = coverage.get(file);
    if (cov === undefined) continue;
    const mine = [...lines].filter((l) => cov.coverable.has(l)).sort((a, b) => a - b);
    const missed = mine.filter((l) => !cov.covered.has(l));
    coverable += mine.length;
    covered += mine.length - missed.length;
    uncovered.push(...uncoveredRuns(file, missed));
  }
  const value = coverable === 0 ? null : pct(covered, coverable);
  const failed = value !== null && value < min;
  const detail =
    coverable === 0
      ? "no coverable new lines in the report"
      : `${covered} of ${coverable} coverable new lines covered`;
  return {
    ...base,
    status: statusOf(value !== null, failed),
    value,
    detail,
    failures: failed ? uncovered : [],
  };
}

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
  const newLines = newLinesOf(before, after, newCode);
  const scope: Scope = {
    fresh: after.issues.filter(isNew),
    all: after.issues,
    mode: newCode.mode,
    newLines,
    totalNew: [...newLines.values()].reduce((n, s) => n + s.size, 0),
  };
  const c = conditions;
  const out: GateCondition[] = [];
  if (c.new_duplicated_lines_density !== undefined)
    out.push(duplicationCondition(c.new_duplicated_lines_density, scope));
  for (const metric of Object.keys(counted) as CountMetric[]) {
    const cond = c[metric];
    if (cond !== undefined) out.push(countCondition(metric, cond.max, scope));
  }
  if (c.new_coverage !== undefined) out.push(coverageCondition(c.new_coverage.min, scope, coverage));
  return {
    status: out.some((x) => x.status === "error") ? "failed" : "passed",
    conditions: out,
    newCode: { mode: newCode.mode, files: newLines.size, lines: scope.totalNew },
    newIssues: scope.fresh.length,
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
