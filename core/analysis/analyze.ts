import { hash } from "node:crypto";
import { z } from "zod";
import { analyzeComplexity, type FunctionComplexity } from "./complexity.ts";
import type { ClonePair, FileDuplication } from "./duplicates.ts";
import { buildGraph, type ImportGraph } from "./graph.ts";
import { type Cycle, checkRules, type LayerViolation, RulesFile } from "./rules.ts";
import {
  type CacheEntry,
  clonesOf,
  DUPLICATION_DEFAULTS,
  entriesOf,
  ms,
  type SourceFile,
} from "./source-cache.ts";
import type { TokenizedFile } from "./tokens.ts";

export { clearAnalysisCache, type SourceFile } from "./source-cache.ts";

/**
 * One analysis of a set of source files (pure: the files come in as text): duplication, layer rules
 * over the import graph, complexity. Timings per part are measured here so the tools, the CLI and the
 * bench report the same thing. Tokens and syntax-tree metrics are cached per file by content
 * (source-cache.ts), so a warm function re-analysing a tree where few files changed re-scans only those.
 */

export const DuplicationOptions = z
  .object({
    minTokens: z.number().int().min(10).max(10_000).default(DUPLICATION_DEFAULTS.minTokens),
    minLines: z.number().int().min(1).max(10_000).default(DUPLICATION_DEFAULTS.minLines),
    kinds: z
      .array(z.enum(["type1", "type2"]))
      .min(1)
      .max(2)
      .default([...DUPLICATION_DEFAULTS.kinds]),
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
  const entries = entriesOf(files, namespace);
  const fileHashes: Record<string, { sha: string; lines: number }> = {};
  for (const e of entries) fileHashes[e.tokens.path] = { sha: shaOf(e), lines: e.tokens.lines };
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

/** The hex sha1 of an entry's text (one-shot, no Hash object per file), computed once per entry. */
function shaOf(e: CacheEntry): string {
  e.sha ??= hash("sha1", e.text, "hex");
  return e.sha;
}

/** The import graph of tokenised files. */
export function graphOf(tokens: readonly TokenizedFile[], outside: readonly string[] = []): ImportGraph {
  return buildGraph(new Map(tokens.map((t) => [t.path, t.imports])), outside);
}

/** The tokenised files (cached) of a set of sources, for the graph-only tools. */
export function tokenizeSources(files: readonly SourceFile[], namespace = ""): TokenizedFile[] {
  return entriesOf(files, namespace).map((e) => e.tokens);
}
