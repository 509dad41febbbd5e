import type { TokenizedFile } from "./tokens.ts";
import { comparePaths } from "./path-order.ts";
import { WindowGrouper } from "./window-groups.ts";

/**
 * Clone detection on token streams (jscpd's model: a clone is a run of at least `minTokens` equal
 * tokens spanning at least `minLines` lines in each of its two fragments).
 *
 * Two passes over all files' tokens laid end to end:
 *   1. type 1 on the exact codes (same tokens; whitespace and comments are not tokens);
 *   2. type 2 on the normalised codes (identifiers and literals each one code), keeping only the
 *      matches whose exact codes differ somewhere (the rest are type-1 matches pass 1 already has).
 * Each pass hashes every window of `minTokens` codes (polynomial rolling hash, 32-bit), groups the
 * windows by hash (window-groups.ts: the first one and a chain back through the earlier ones),
 * and for a later window with a known hash checks the codes against the first copy and then the
 * latest ones (MAX_PARTNERS in all), extending each match forward as far as the codes agree (never
 * across a file end, never overlapping itself in one file). The later fragment is then skipped. Every
 * copy is thus paired with the first one, as jscpd pairs them (a region copied k times gives at least
 * (1st, 2nd) … (1st, k-th)), plus its nearest earlier copies.
 */

export interface DuplicateOptions {
  /** Least tokens of a clone (jscpd's default 50). */
  readonly minTokens: number;
  /** Least lines of each fragment (jscpd's default 5). */
  readonly minLines: number;
  /** Which kinds to look for. */
  readonly kinds?: readonly CloneKind[];
}

export type CloneKind = "type1" | "type2";

export interface Fragment {
  readonly file: string;
  readonly startLine: number;
  readonly endLine: number;
}

export interface ClonePair {
  readonly kind: CloneKind;
  readonly tokens: number;
  /** The earlier fragment (file order, then position). */
  readonly a: Fragment;
  readonly b: Fragment;
  /** Stable across runs and line moves: kind, both files and a hash of the shape codes. */
  readonly fingerprint: string;
}

export interface FileDuplication {
  readonly file: string;
  readonly lines: number;
  readonly duplicatedLines: number;
  /** duplicatedLines / lines, in percent. */
  readonly percent: number;
}

export interface DuplicationReport {
  readonly pairs: readonly ClonePair[];
  /** Files with at least one duplicated line, most duplicated first. */
  readonly files: readonly FileDuplication[];
  readonly totalLines: number;
  readonly duplicatedLines: number;
  readonly percent: number;
  readonly tokens: number;
}

const BASE = 0x01000193;
/** Earlier copies of a window tried as partners (a region copied k times gives up to k(k-1)/2 pairs). */
const MAX_PARTNERS = 8;

interface Corpus {
  readonly files: readonly TokenizedFile[];
  /** Offset of each file's first token in the concatenated arrays; one extra entry at the end. */
  readonly offsets: Int32Array;
  readonly exact: Int32Array;
  readonly shape: Int32Array;
}

function corpusOf(files: readonly TokenizedFile[]): Corpus {
  const offsets = new Int32Array(files.length + 1);
  let total = 0;
  for (let f = 0; f < files.length; f++) {
    offsets[f] = total;
    total += (files[f] as TokenizedFile).exact.length;
  }
  offsets[files.length] = total;
  return {
    files,
    offsets,
    exact: endToEnd(files.map((f) => f.exact)),
    shape: endToEnd(files.map((f) => f.shape)),
  };
}

/**
 * `arrays` laid end to end: a view of their buffer when they already are (files scanned in this
 * order, tokens.ts keeps them adjacent), else a copy. The corpus is only read.
 */
function endToEnd(arrays: readonly Int32Array[]): Int32Array {
  let total = 0;
  let adjacent = true;
  for (let i = 0; i < arrays.length; i++) {
    const a = arrays[i] as Int32Array;
    const before = arrays[i - 1];
    if (
      before !== undefined &&
      (a.buffer !== before.buffer || a.byteOffset !== before.byteOffset + before.byteLength)
    )
      adjacent = false;
    total += a.length;
  }
  const first = arrays[0];
  if (adjacent && first !== undefined) return new Int32Array(first.buffer, first.byteOffset, total);
  const out = new Int32Array(total);
  for (let i = 0, o = 0; i < arrays.length; o += (arrays[i] as Int32Array).length, i++)
    out.set(arrays[i] as Int32Array, o);
  return out;
}

/**
 * The index of the file token `p` is in: the last file starting at or before it (an empty file
 * holds no token, and the file after it starts at the same offset). A search, not an array of the
 * file of every token (megabytes of fresh memory for a few lookups per clone).
 */
function fileAt(c: Corpus, p: number): number {
  let lo = 0;
  let hi = c.files.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((c.offsets[mid] as number) <= p) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

interface RawMatch {
  /** Earlier start, later start, length in tokens. */
  readonly q: number;
  readonly p: number;
  readonly len: number;
}

/** The hash of every window of `w` codes (in stream order, within files), into `keys`. */
function windowHashes(c: Corpus, codes: Int32Array, w: number, keys: Int32Array): void {
  let pow = 1; // BASE^(w-1)
  for (let i = 1; i < w; i++) pow = Math.imul(pow, BASE);
  let k = 0;
  for (let f = 0; f < c.files.length; f++) {
    const lo = c.offsets[f] as number;
    const hi = c.offsets[f + 1] as number;
    if (hi - lo < w) continue;
    let h = 0;
    for (let i = lo; i < lo + w; i++) h = (Math.imul(h, BASE) + (codes[i] as number)) | 0;
    keys[k++] = h;
    for (let p = lo + 1; p + w <= hi; p++) {
      h = (Math.imul(h - Math.imul(codes[p - 1] as number, pow), BASE) + (codes[p + w - 1] as number)) | 0;
      keys[k++] = h;
    }
  }
}

/** What both passes share: the window starts, their hashes and the grouping buffers. */
interface Windows {
  readonly w: number;
  readonly keys: Int32Array;
  readonly grouper: WindowGrouper;
}

function windowsOf(c: Corpus, w: number): Windows {
  const grouper = new WindowGrouper(c.exact.length, c.offsets, w);
  return { w, keys: new Int32Array(grouper.count), grouper };
}

/**
 * Earlier windows with the hash of `p` into `out`: the first copy (jscpd pairs every copy with the
 * first one it saw), then the latest ones back along the chain, the first once only. Returns how many.
 */
function partnersOf(links: Int32Array, p: number, out: Int32Array): number {
  const first = (links[2 * p] as number) - 1;
  if (first < 0) return 0;
  out[0] = first;
  let count = 1;
  // Only `first` has no entry along the chain, and the walk stops there.
  for (let q = (links[2 * p + 1] as number) - 1; q >= 0 && q !== first && count < out.length; count++) {
    out[count] = q;
    q = (links[2 * q + 1] as number) - 1;
  }
  return count;
}

/** How far the codes at `q` (earlier) and `p` agree, within their ends; 0 when under `w`. */
function matchLength(codes: Int32Array, q: number, p: number, qEnd: number, pEnd: number, w: number): number {
  let len = 0;
  while (len < w && q + len < qEnd && codes[q + len] === codes[p + len]) len++;
  if (len < w) return 0;
  while (p + len < pEnd && q + len < qEnd && codes[q + len] === codes[p + len]) len++;
  return len;
}

/** The first position from `p` with an earlier copy (links, window-groups.ts), or `n`. */
function nextLinked(links: Int32Array, p: number, n: number): number {
  let q = p;
  while (q < n && links[2 * q] === 0) q++;
  return q;
}

/**
 * One detection pass over `codes`; `dropExact` drops the matches whose exact codes agree too (the
 * type-2 pass: those are type-1 matches; a flag, not a filter function per pass, so the compiled
 * loop is not thrown away when the second pass calls another). For
 * each window, its earlier copies (partnersOf) are verified code by code and extended; the matched
 * fragment is then skipped (its windows still count as earlier copies for those further on).
 */
function detect(
  c: Corpus,
  win: Windows,
  codes: Int32Array,
  opts: DuplicateOptions,
  dropExact: boolean,
): RawMatch[] {
  const w = opts.minTokens;
  windowHashes(c, codes, w, win.keys);
  const links = win.grouper.group(win.keys);
  const partners = new Int32Array(MAX_PARTNERS);
  const out: RawMatch[] = [];
  let p = 0;
  const n = codes.length;
  while (p < n) {
    // Most windows have no earlier copy: skipped in a loop of their own (optimised on its own, early).
    p = nextLinked(links, p, n);
    if (p === n) break;
    const count = partnersOf(links, p, partners);
    const fp = fileAt(c, p);
    const pEnd = c.offsets[fp + 1] as number;
    let longest = 0;
    for (let k = 0; k < count; k++) {
      const q = partners[k] as number;
      const fq = fileAt(c, q);
      const len = matchLength(codes, q, p, fq === fp ? p : (c.offsets[fq + 1] as number), pEnd, w);
      if (len === 0) continue;
      const m = { q, p, len };
      if (spansLines(c, m, opts.minLines) && !(dropExact && sameExact(c, m))) out.push(m);
      longest = Math.max(longest, len);
    }
    p += Math.max(1, longest);
  }
  return out;
}

function linesOf(
  c: Corpus,
  start: number,
  len: number,
): { file: number; startLine: number; endLine: number } {
  const f = fileAt(c, start);
  const file = c.files[f] as TokenizedFile;
  const o = c.offsets[f] as number;
  return {
    file: f,
    startLine: file.line[start - o] as number,
    endLine: file.endLine[start + len - 1 - o] as number,
  };
}

function spansLines(c: Corpus, m: RawMatch, minLines: number): boolean {
  const a = linesOf(c, m.q, m.len);
  const b = linesOf(c, m.p, m.len);
  return a.endLine - a.startLine + 1 >= minLines && b.endLine - b.startLine + 1 >= minLines;
}

function sameExact(c: Corpus, m: RawMatch): boolean {
  for (let i = 0; i < m.len; i++) if (c.exact[m.q + i] !== c.exact[m.p + i]) return false;
  return true;
}

function fingerprintOf(c: Corpus, kind: CloneKind, m: RawMatch, a: string, b: string): string {
  let h = 0x811c9dc5;
  const codes = kind === "type1" ? c.exact : c.shape;
  for (let i = 0; i < m.len; i++) h = Math.imul(h ^ (codes[m.q + i] as number), BASE);
  return `${kind}:${a}:${b}:${m.len}:${(h >>> 0).toString(16).padStart(8, "0")}`;
}

function toPair(c: Corpus, kind: CloneKind, m: RawMatch): ClonePair {
  const a = linesOf(c, m.q, m.len);
  const b = linesOf(c, m.p, m.len);
  const fa = (c.files[a.file] as TokenizedFile).path;
  const fb = (c.files[b.file] as TokenizedFile).path;
  return {
    kind,
    tokens: m.len,
    a: { file: fa, startLine: a.startLine, endLine: a.endLine },
    b: { file: fb, startLine: b.startLine, endLine: b.endLine },
    fingerprint: fingerprintOf(c, kind, m, fa, fb),
  };
}

/** Pairs by their two files. */
function byFilePair(pairs: readonly ClonePair[]): Map<string, ClonePair[]> {
  const out = new Map<string, ClonePair[]>();
  for (const e of pairs) {
    const key = `${e.a.file}\0${e.b.file}`;
    const list = out.get(key);
    if (list === undefined) out.set(key, [e]);
    else list.push(e);
  }
  return out;
}

/** Finds type-1 and type-2 clone pairs across `files` and the duplicated share per file. */
export function findDuplicates(files: readonly TokenizedFile[], opts: DuplicateOptions): DuplicationReport {
  const c = corpusOf(files);
  const kinds = opts.kinds ?? ["type1", "type2"];
  const pairs: ClonePair[] = [];
  const win = windowsOf(c, opts.minTokens);
  if (kinds.includes("type1")) {
    for (const m of detect(c, win, c.exact, opts, false)) pairs.push(toPair(c, "type1", m));
  }
  if (kinds.includes("type2")) {
    // A same-shape match that overlaps an exact clone of the same two files is that clone seen
    // again (renamed around it): it is reported once, as type 1.
    const exact = byFilePair(pairs);
    const covered = (p: ClonePair) =>
      (exact.get(`${p.a.file}\0${p.b.file}`) ?? []).some((e) => overlaps(e.a, p.a) && overlaps(e.b, p.b));
    for (const m of detect(c, win, c.shape, opts, true)) {
      const pair = toPair(c, "type2", m);
      if (!covered(pair)) pairs.push(pair);
    }
  }
  return { ...shareOf(files, pairs), pairs, tokens: c.exact.length };
}

const overlaps = (x: Fragment, y: Fragment) => x.startLine <= y.endLine && y.startLine <= x.endLine;

/** Duplicated lines per file (a line in any fragment counts once) and overall. */
export function shareOf(
  files: readonly TokenizedFile[],
  pairs: readonly ClonePair[],
): Omit<DuplicationReport, "pairs" | "tokens"> {
  const covered = new Map<string, Uint8Array>();
  const linesByFile = new Map(files.map((f) => [f.path, f.lines]));
  const mark = (fr: Fragment) => {
    const lines = linesByFile.get(fr.file) ?? fr.endLine;
    let bits = covered.get(fr.file);
    if (bits === undefined) {
      bits = new Uint8Array(lines + 2);
      covered.set(fr.file, bits);
    }
    bits.fill(1, fr.startLine, Math.min(fr.endLine, lines) + 1);
  };
  for (const p of pairs) {
    mark(p.a);
    mark(p.b);
  }
  const out: FileDuplication[] = [];
  let duplicatedLines = 0;
  for (const [file, bits] of covered) {
    const d = ones(bits);
    const lines = linesByFile.get(file) ?? d;
    duplicatedLines += d;
    out.push({ file, lines, duplicatedLines: d, percent: lines === 0 ? 0 : round2((100 * d) / lines) });
  }
  out.sort((x, y) => y.percent - x.percent || comparePaths(x.file, y.file));
  const totalLines = files.reduce((s, f) => s + f.lines, 0);
  return {
    files: out,
    totalLines,
    duplicatedLines,
    percent: totalLines === 0 ? 0 : round2((100 * duplicatedLines) / totalLines),
  };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** How many entries of `bits` (0 or 1) are 1: the runs found by native searches, not a loop per line. */
function ones(bits: Uint8Array): number {
  let count = 0;
  for (let i = bits.indexOf(1); i >= 0; ) {
    const end = bits.indexOf(0, i);
    count += (end < 0 ? bits.length : end) - i;
    i = end < 0 ? -1 : bits.indexOf(1, end);
  }
  return count;
}
