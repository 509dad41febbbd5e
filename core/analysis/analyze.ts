import { createHash, hash } from "node:crypto";
import { z } from "zod";
import { analyzeComplexity, type FileComplexity, type FunctionComplexity } from "./complexity.ts";
import { type ClonePair, type FileDuplication, findDuplicates } from "./duplicates.ts";
import { buildGraph, type ImportGraph } from "./graph.ts";
import { type Cycle, checkRules, type LayerViolation, RulesFile } from "./rules.ts";
import { type TokenizedFile, tokenize } from "./tokens.ts";

/**
 * One analysis of a set of source files (pure: the files come in as text): duplication, layer rules
 * over the import graph, complexity. Timings per part are measured here so the tools, the CLI and the
 * bench report the same thing. Tokens and syntax-tree metrics are cached per file by content, so a
 * warm function re-analysing a tree where few files changed re-scans only those.
 */

export const DuplicationOptions = z
  .object({
    minTokens: z.number().int().min(10).max(10_000).default(50),
    minLines: z.number().int().min(1).max(10_000).default(5),
    kinds: z
      .array(z.enum(["type1", "type2"]))
      .min(1)
      .max(2)
      .default(["type1", "type2"]),
  })
  .strict();

export const ComplexityThresholds = z
  .object({
    cognitive: z.number().int().min(1).max(10_000).default(15),
    cyclomatic: z.number().int().min(1).max(10_000).default(20),
    functionLines: z.number().int().min(1).max(100_000).default(200),
    fileLines: z.number().int().min(1).max(1_000_000).default(1_000),
  })
  .strict();

export const AnalysisPart = z.enum(["duplicates", "layers", "complexity"]);
export type AnalysisPart = z.infer<typeof AnalysisPart>;

export const AnalysisOptions = z
  .object({
    duplication: DuplicationOptions.default(DuplicationOptions.parse({})),
    complexity: ComplexityThresholds.default(ComplexityThresholds.parse({})),
    rules: RulesFile.default(RulesFile.parse({})),
    parts: z.array(AnalysisPart).min(1).max(3).default(["duplicates", "layers", "complexity"]),
  })
  .strict();
export type AnalysisOptions = z.infer<typeof AnalysisOptions>;
export type AnalysisOptionsInput = z.input<typeof AnalysisOptions>;

export interface SourceFile {
  /** Repository-relative path with forward slashes. */
  readonly path: string;
  readonly text: string;
}

export type OverThreshold = "cognitive" | "cyclomatic" | "lines";

export interface FunctionReport extends FunctionComplexity {
  readonly over: readonly OverThreshold[];
}

export interface AnalysisResult {
  readonly files: number;
  readonly lines: number;
  readonly tokens: number;
  readonly duplicates: readonly ClonePair[];
  readonly duplication: {
    readonly percent: number;
    readonly duplicatedLines: number;
    readonly totalLines: number;
    readonly byKind: { readonly type1: number; readonly type2: number };
    readonly files: readonly FileDuplication[];
  };
  readonly layer_violations: readonly LayerViolation[];
  readonly cycles: readonly Cycle[];
  readonly orphans: readonly string[];
  readonly graph: { readonly modules: number; readonly dependencies: number };
  /** Every function (all of them), with the thresholds it is over. */
  readonly complexity: readonly FunctionReport[];
  /** Files over the file-size threshold. */
  readonly large_files: readonly { readonly file: string; readonly lines: number }[];
  readonly thresholds: z.infer<typeof ComplexityThresholds>;
  /** Content hash and length of every file: what "new code" is measured against in a baseline. */
  readonly fileHashes: Readonly<Record<string, { readonly sha: string; readonly lines: number }>>;
  readonly timings_ms: Readonly<Record<string, number>>;
}

interface CacheEntry {
  text: string;
  tokens: TokenizedFile;
  sha: string;
  complexity?: FileComplexity;
}
const cache = new Map<string, CacheEntry>();
const CACHE_FILES = 50_000;

function entryOf(f: SourceFile, namespace: string): CacheEntry {
  const key = `${namespace}\u0000${f.path}`;
  const hit = cache.get(key);
  if (hit !== undefined && hit.text === f.text) return hit;
  if (cache.size >= CACHE_FILES) cache.clear();
  const e: CacheEntry = {
    text: f.text,
    tokens: tokenize(f.path, f.text),
    // One-shot hash (no Hash object per file); the same hex sha1 as createHash.
    sha: hash("sha1", f.text, "hex"),
  };
  cache.set(key, e);
  return e;
}

/**
 * The last clone search, reused while no file of the set changed: the search over the whole tree is
 * most of a warm analysis (about a second for this repository), and a caller re-asking about an
 * unchanged tree (a dashboard, the IntegrationValidator) gets the same answer without it.
 */
let lastClones: { key: string; result: ReturnType<typeof findDuplicates> } | undefined;

function clonesOf(
  entries: readonly CacheEntry[],
  options: AnalysisOptions["duplication"],
  namespace: string,
): ReturnType<typeof findDuplicates> {
  const key = createHash("sha1")
    .update(`${namespace}\u0000${JSON.stringify(options)}`)
    .update(entries.map((e) => `${e.tokens.path}\u0000${e.sha}`).join("\u0000"))
    .digest("hex");
  if (lastClones?.key === key) return lastClones.result;
  const result = findDuplicates(
    entries.map((e) => e.tokens),
    options,
  );
  lastClones = { key, result };
  return result;
}

/** Drops the per-file cache and the last clone search (the bench measures cold runs with it). */
export function clearAnalysisCache(): void {
  cache.clear();
  lastClones = undefined;
}

const ms = (t0: number) => Math.round((performance.now() - t0) * 100) / 100;

/** Analyses `files`. `namespace` keys the cache (e.g. the root directory). */
export function analyzeSources(
  files: readonly SourceFile[],
  input: AnalysisOptionsInput = {},
  namespace = "",
  outside: readonly string[] = [],
): AnalysisResult {
  const opts = AnalysisOptions.parse(input);
  const timings: Record<string, number> = {};
  const t0 = performance.now();
  const sorted = [...files].sort((a, b) => a.path.localeCompare(b.path));
  const entries = sorted.map((f) => entryOf(f, namespace));
  timings.tokenize = ms(t0);
  const tokens = entries.map((e) => e.tokens);
  const want = new Set(opts.parts);

  let duplicates: ClonePair[] = [];
  let duplication: AnalysisResult["duplication"] = {
    percent: 0,
    duplicatedLines: 0,
    totalLines: 0,
    byKind: { type1: 0, type2: 0 },
    files: [],
  };
  if (want.has("duplicates")) {
    const t = performance.now();
    const d = clonesOf(entries, opts.duplication, namespace);
    duplicates = [...d.pairs];
    duplication = {
      percent: d.percent,
      duplicatedLines: d.duplicatedLines,
      totalLines: d.totalLines,
      byKind: {
        type1: d.pairs.filter((p) => p.kind === "type1").length,
        type2: d.pairs.filter((p) => p.kind === "type2").length,
      },
      files: d.files,
    };
    timings.duplicates = ms(t);
  }

  let layer_violations: readonly LayerViolation[] = [];
  let cycles: readonly Cycle[] = [];
  let orphans: readonly string[] = [];
  let graphSize = { modules: 0, dependencies: 0 };
  if (want.has("layers")) {
    const t = performance.now();
    const graph = graphOf(tokens, outside);
    timings.graph = ms(t);
    const t2 = performance.now();
    const report = checkRules(graph, opts.rules);
    layer_violations = report.violations;
    cycles = report.cycles;
    orphans = report.orphans;
    graphSize = { modules: report.modules, dependencies: report.dependencies };
    timings.layers = ms(t2);
  }

  const complexity: FunctionReport[] = [];
  const large_files: { file: string; lines: number }[] = [];
  const th = opts.complexity;
  if (want.has("complexity")) {
    const t = performance.now();
    for (const e of entries) {
      e.complexity ??= analyzeComplexity(e.tokens.path, e.text);
      if (e.complexity.lines > th.fileLines)
        large_files.push({ file: e.tokens.path, lines: e.complexity.lines });
      for (const fn of e.complexity.functions) {
        const over: OverThreshold[] = [];
        if (fn.reported && fn.cognitive > th.cognitive) over.push("cognitive");
        if (fn.cyclomatic > th.cyclomatic) over.push("cyclomatic");
        if (fn.lines > th.functionLines) over.push("lines");
        complexity.push({ ...fn, over });
      }
    }
    timings.complexity = ms(t);
  }
  timings.total = ms(t0);

  const fileHashes: Record<string, { sha: string; lines: number }> = {};
  for (const e of entries) fileHashes[e.tokens.path] = { sha: e.sha, lines: e.tokens.lines };
  return {
    files: entries.length,
    lines: tokens.reduce((s, t) => s + t.lines, 0),
    tokens: tokens.reduce((s, t) => s + t.exact.length, 0),
    duplicates,
    duplication,
    layer_violations,
    cycles,
    orphans,
    graph: graphSize,
    complexity,
    large_files,
    thresholds: th,
    fileHashes,
    timings_ms: timings,
  };
}

/** The import graph of tokenised files. */
export function graphOf(tokens: readonly TokenizedFile[], outside: readonly string[] = []): ImportGraph {
  return buildGraph(new Map(tokens.map((t) => [t.path, t.imports])), outside);
}

/** The tokenised files (cached) of a set of sources, for the graph-only tools. */
export function tokenizeSources(files: readonly SourceFile[], namespace = ""): TokenizedFile[] {
  return [...files].sort((a, b) => a.path.localeCompare(b.path)).map((f) => entryOf(f, namespace).tokens);
}
