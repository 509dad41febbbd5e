import { existsSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import {
  type AnalysisOptionsInput,
  type AnalysisPart,
  type AnalysisResult,
  analyzeSources,
  type SourceFile,
} from "./analyze.ts";
import {
  evaluateGate,
  GateConfig,
  type GateResult,
  IstanbulCoverage,
  type LineCoverage,
  lineCoverage,
  type NewCode,
  Snapshot,
  snapshotOf,
} from "./gate.ts";
import { RulesFile } from "./rules.ts";
import {
  changedLines,
  checkoutTree,
  hasCommit,
  headCommit,
  listSources,
  readJsonFile,
  readSources,
} from "./workspace.ts";

/**
 * Analysis and gate on a directory: finds the project root and its configuration, reads the files,
 * runs the pure analysis and gate. The architect and quality functions, the `bot4` CLI and the bench
 * all go through here, so they run the same code.
 */

export const GATE_CONFIG_FILE = "quality-gate.json";

/** Thrown for a path, a configuration or a revision that cannot be used (callers map it to 400/-32602). */
export class AnalysisInputError extends Error {
  override name = "AnalysisInputError";
}

/** The nearest folder at or above `path` holding quality-gate.json, architect.rules.json or .git. */
export function findRoot(path: string): string {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new AnalysisInputError(`${path}: no such file or directory`);
  let dir = statSync(abs).isFile() ? dirname(abs) : abs;
  for (;;) {
    if ([GATE_CONFIG_FILE, "architect.rules.json", ".git"].some((f) => existsSync(join(dir, f)))) return dir;
    const up = dirname(dir);
    if (up === dir) return statSync(abs).isFile() ? dirname(abs) : abs;
    dir = up;
  }
}

function parseJson<T>(
  schema: {
    safeParse(
      v: unknown,
    ):
      | { success: true; data: T }
      | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  path: string,
  fallback: unknown,
): T {
  let raw: unknown;
  try {
    raw = readJsonFile(path) ?? fallback;
  } catch (err) {
    throw new AnalysisInputError(`${path}: not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const why = parsed.error.issues
      .map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`)
      .join("; ");
    throw new AnalysisInputError(`${path}: ${why}`);
  }
  return parsed.data;
}

export interface Project {
  readonly root: string;
  readonly config: GateConfig;
  readonly rules: RulesFile;
}

/** The root of `path` and its gate configuration and layer rules (defaults when the files are absent). */
export function loadProject(path: string, configPath?: string): Project {
  const root = findRoot(path);
  const cfgFile = configPath === undefined ? join(root, GATE_CONFIG_FILE) : resolve(configPath);
  if (configPath !== undefined && !existsSync(cfgFile))
    throw new AnalysisInputError(`${configPath}: no such file`);
  const config = parseJson(GateConfig, cfgFile, {});
  const rules = parseJson(RulesFile, join(root, config.rules), {});
  return { root, config, rules };
}

export interface AnalyzeRequest {
  readonly path: string;
  readonly config?: string;
  readonly parts?: readonly AnalysisPart[];
  /** Overrides of the configured options. */
  readonly minTokens?: number;
  readonly minLines?: number;
  /** Rules to check instead of the project's rules file. */
  readonly rules?: RulesFile;
  readonly thresholds?: Partial<GateConfig["complexity"]>;
}

export interface PathAnalysis {
  readonly root: string;
  /** The analysed folder or file, relative to the root ("." for the root). */
  readonly scope: string;
  readonly result: AnalysisResult;
  readonly readMs: number;
}

function excluded(config: GateConfig): (p: string) => boolean {
  const res = config.exclude.map((e) => new RegExp(e));
  return (p) => res.some((r) => r.test(p));
}

function sourcesIn(
  root: string,
  scopeAbs: string,
  config: GateConfig,
): { files: SourceFile[]; outside: string[] } {
  const skip = excluded(config);
  const scope = relative(root, scopeAbs).split("\\").join("/");
  // The whole tree: listed and read in one go (excluded files are read and dropped).
  if (scope === "") return { files: readSources(root).filter((f) => !skip(f.path)), outside: [] };
  const all = listSources(root).filter((p) => !skip(p));
  const inScope = (p: string) => p === scope || p.startsWith(`${scope}/`);
  let mine = all.filter(inScope);
  if (mine.length === 0) {
    // Not listed by git (an ignored folder such as node_modules/<pkg>): walk it.
    mine = listSources(scopeAbs).map((p) => (statSync(scopeAbs).isFile() ? scope : `${scope}/${p}`));
  }
  return { files: readSources(root, mine), outside: all.filter((p) => !inScope(p)) };
}

function optionsOf(project: Project, req: Partial<AnalyzeRequest>): AnalysisOptionsInput {
  return {
    duplication: {
      ...project.config.duplication,
      ...(req.minTokens !== undefined ? { minTokens: req.minTokens } : {}),
      ...(req.minLines !== undefined ? { minLines: req.minLines } : {}),
    },
    complexity: { ...project.config.complexity, ...req.thresholds },
    rules: req.rules ?? project.rules,
    ...(req.parts !== undefined ? { parts: [...req.parts] } : {}),
  };
}

/** Analyses a folder or file with its project's configuration. */
export function analyzePath(req: AnalyzeRequest): PathAnalysis {
  const project = loadProject(req.path, req.config);
  const scopeAbs = resolve(req.path);
  const t0 = performance.now();
  const { files, outside } = sourcesIn(project.root, scopeAbs, project.config);
  const readMs = Math.round((performance.now() - t0) * 100) / 100;
  const result = analyzeSources(files, optionsOf(project, req), project.root, outside);
  const scope = relative(project.root, scopeAbs).split("\\").join("/") || ".";
  return {
    root: project.root,
    scope,
    result: { ...result, timings_ms: { read: readMs, ...result.timings_ms } },
    readMs,
  };
}

export interface GateRequest {
  readonly path: string;
  /** A git revision: new code = the diff from it to the working tree. Default: the committed baseline. */
  readonly base?: string;
  /** An istanbul/vitest JSON coverage report (coverage-final.json). */
  readonly coverage?: string;
  readonly config?: string;
}

export interface GateRun {
  readonly root: string;
  readonly gate: GateResult;
  /** Against what: the base revision, the baseline file, or nothing (no baseline: everything is new). */
  readonly against: { readonly kind: "base" | "baseline" | "none"; readonly ref: string };
  readonly analysis: AnalysisResult;
  readonly snapshot: Snapshot;
  readonly timings_ms: Readonly<Record<string, number>>;
}

function loadCoverage(root: string, path: string): LineCoverage {
  const file = isAbsolute(path) ? path : resolve(path);
  if (!existsSync(file)) throw new AnalysisInputError(`${path}: no such coverage report`);
  const report = parseJson(IstanbulCoverage, file, {});
  return lineCoverage(report, (p) => (isAbsolute(p) ? relative(root, p).split("\\").join("/") : p));
}

/** The committed baseline of a project, or undefined when there is none. */
export function loadBaseline(project: Project): Snapshot | undefined {
  const file = join(project.root, project.config.baseline);
  if (!existsSync(file)) return undefined;
  return parseJson(Snapshot, file, {});
}

/** Runs the quality gate on the working tree of `path`'s project. */
export function runGate(req: GateRequest): GateRun {
  const project = loadProject(req.path, req.config);
  const timings: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    timings[name] = Math.round((performance.now() - t) * 100) / 100;
    t = performance.now();
  };
  const { files, outside } = sourcesIn(project.root, project.root, project.config);
  const analysis = analyzeSources(files, optionsOf(project, {}), project.root, outside);
  lap("analyze");
  const snapshot = snapshotOf(analysis, headCommit(project.root));
  let before: Snapshot | undefined;
  let newCode: NewCode = { mode: "files" };
  let against: GateRun["against"];
  if (req.base !== undefined) {
    if (!hasCommit(project.root, req.base))
      throw new AnalysisInputError(`base: ${req.base} is not a commit here`);
    const tree = checkoutTree(project.root, req.base);
    try {
      const baseProject = { ...project, root: tree.dir };
      const base = sourcesIn(tree.dir, tree.dir, project.config);
      // The base is analysed with today's configuration, so a rule change is not mistaken for new code.
      before = snapshotOf(
        analyzeSources(base.files, optionsOf(baseProject, {}), `base:${req.base}`, base.outside),
      );
    } finally {
      tree.remove();
    }
    newCode = { mode: "lines", lines: changedLines(project.root, req.base) };
    against = { kind: "base", ref: req.base };
    lap("base");
  } else {
    before = loadBaseline(project);
    against =
      before === undefined ? { kind: "none", ref: "" } : { kind: "baseline", ref: project.config.baseline };
  }
  const coverage = req.coverage === undefined ? undefined : loadCoverage(project.root, req.coverage);
  const gate = evaluateGate(before, snapshot, newCode, project.config.conditions, coverage);
  lap("gate");
  return { root: project.root, gate, against, analysis, snapshot, timings_ms: timings };
}

/** Writes the current snapshot as the project's baseline (accepting every existing issue). */
export function writeBaseline(
  path: string,
  configPath?: string,
): { file: string; issues: number; refused: number } {
  const project = loadProject(path, configPath);
  const { files, outside } = sourcesIn(project.root, project.root, project.config);
  const all = snapshotOf(analyzeSources(files, optionsOf(project, {}), project.root, outside));
  // The layer rules hold from the start: a violation or an import circle is never accepted, so the
  // gate fails on it whether it is new or not. Complexity and duplication may be recorded.
  const snapshot = { ...all, issues: all.issues.filter((i) => !NEVER_ACCEPTED.has(i.kind)) };
  const file = join(project.root, project.config.baseline);
  writeFileSync(file, `${JSON.stringify(snapshot, null, 2)}\n`);
  return { file, issues: snapshot.issues.length, refused: all.issues.length - snapshot.issues.length };
}

/** Issue kinds a baseline never records (the architecture's rules, which must hold on every commit). */
const NEVER_ACCEPTED: ReadonlySet<string> = new Set(["layer", "cycle"]);

/** Reads a snapshot (a baseline or a stored analysis) from a file. */
export function readSnapshot(path: string): Snapshot {
  return parseJson(Snapshot, resolve(path), undefined);
}

/**
 * The tools and commands read the machine's files: they accept paths inside the working directory
 * the function runs in (the checkout) or the temporary directory, nothing else.
 */
export function checkedPath(path: string, cwd = process.cwd()): string {
  const abs = resolve(cwd, path);
  const inside = (dir: string) => {
    const rel = relative(resolve(dir), abs);
    return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
  };
  if (!inside(cwd) && !inside(tmpdir())) {
    throw new AnalysisInputError(
      `path: ${path} is outside the working directory and the temporary directory`,
    );
  }
  if (!existsSync(abs)) throw new AnalysisInputError(`path: ${path}: no such file or directory`);
  return abs;
}
