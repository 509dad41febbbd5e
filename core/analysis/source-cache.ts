import type { FileComplexity } from "./complexity.ts";
import { type DuplicateOptions, type DuplicationReport, findDuplicates } from "./duplicates.ts";
import { comparePaths } from "./path-order.ts";
import { type TokenizedFile, tokenize } from "./tokens.ts";

/**
 * The per-file token cache and the last clone search that every analysis shares (analyze.ts), and
 * the duplication alone on top of them (analyzeDuplication). Nothing here imports zod or node:crypto:
 * a process that only looks for clones (the bench's side-by-side with jscpd, bench/architect-dup.ts)
 * loads neither (zod alone is ~20 ms of a ~270 ms run). Options come in validated (analyze.ts parses
 * them with its zod schemas, whose defaults are DUPLICATION_DEFAULTS).
 */

export interface SourceFile {
  /** Repository-relative path with forward slashes. */
  readonly path: string;
  readonly text: string;
}

/** jscpd's defaults: 50 tokens, 5 lines, both kinds. */
export const DUPLICATION_DEFAULTS = {
  minTokens: 50,
  minLines: 5,
  kinds: ["type1", "type2"],
} as const satisfies Required<DuplicateOptions>;

/** A file's scan, kept while its text is unchanged; the hash and metrics are filled in when first asked for. */
export interface CacheEntry {
  readonly text: string;
  readonly tokens: TokenizedFile;
  sha?: string;
  complexity?: FileComplexity;
}
const cache = new Map<string, CacheEntry>();
const CACHE_FILES = 50_000;

/** The cached entry of `f` (the same object while its text is unchanged), tokenised on a miss. */
function entryOf(f: SourceFile, namespace: string): CacheEntry {
  const key = `${namespace}\u0000${f.path}`;
  const hit = cache.get(key);
  if (hit !== undefined && hit.text === f.text) return hit;
  if (cache.size >= CACHE_FILES) cache.clear();
  const e: CacheEntry = { text: f.text, tokens: tokenize(f.path, f.text) };
  cache.set(key, e);
  return e;
}

/** The entries of `files` in path order (localeCompare's, as every report is sorted). */
export function entriesOf(files: readonly SourceFile[], namespace: string): CacheEntry[] {
  return [...files].sort((a, b) => comparePaths(a.path, b.path)).map((f) => entryOf(f, namespace));
}

/**
 * The last clone search, reused while no file of the set changed: the search over the whole tree is
 * most of a warm analysis (about a second for this repository), and a caller re-asking about an
 * unchanged tree (a dashboard, the IntegrationValidator) gets the same answer without it. "No file
 * changed" is the same cache entries in the same order (an entry is replaced when its text changes).
 */
let lastClones:
  | { namespace: string; options: string; entries: readonly CacheEntry[]; result: DuplicationReport }
  | undefined;

const sameEntries = (a: readonly CacheEntry[], b: readonly CacheEntry[]) =>
  a.length === b.length && a.every((e, i) => e === b[i]);

/** The clone search over `entries` (reused when the last one was over the same entries and options). */
export function clonesOf(
  entries: readonly CacheEntry[],
  options: DuplicateOptions,
  namespace: string,
): DuplicationReport {
  const key = JSON.stringify(options);
  const last = lastClones;
  if (last?.namespace === namespace && last.options === key && sameEntries(last.entries, entries))
    return last.result;
  const result = findDuplicates(
    entries.map((e) => e.tokens),
    options,
  );
  lastClones = { namespace, options: key, entries, result };
  return result;
}

/** Drops the per-file cache and the last clone search (the bench measures cold runs with it). */
export function clearAnalysisCache(): void {
  cache.clear();
  lastClones = undefined;
}

export const ms = (t0: number) => Math.round((performance.now() - t0) * 100) / 100;

export interface DuplicationRun {
  readonly files: number;
  readonly lines: number;
  readonly tokens: number;
  readonly report: DuplicationReport;
  readonly timings_ms: { readonly tokenize: number; readonly duplicates: number; readonly total: number };
}

/**
 * The duplication of `files` alone (analyzeSources' `duplicates` part, with the same cache, order
 * and timings), for a process that needs nothing else.
 */
export function analyzeDuplication(
  files: readonly SourceFile[],
  options: DuplicateOptions = DUPLICATION_DEFAULTS,
  namespace = "",
): DuplicationRun {
  const t0 = performance.now();
  const entries = entriesOf(files, namespace);
  const tokenizeMs = ms(t0);
  const t = performance.now();
  const report = clonesOf(entries, options, namespace);
  const duplicates = ms(t);
  let lines = 0;
  for (const e of entries) lines += e.tokens.lines;
  return {
    files: entries.length,
    lines,
    tokens: report.tokens,
    report,
    timings_ms: { tokenize: tokenizeMs, duplicates, total: ms(t0) },
  };
}
