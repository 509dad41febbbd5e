import { Kind } from "./lexer-kinds.ts";
import {
  inContext,
  isLiteral,
  Lexer,
  type Nesting,
  stringValue,
  type TokenScanner,
  type TokenSpans,
} from "./lexer.ts";

/**
 * One pass of a scanner (lexer.ts: TypeScript's own tokens, without loading typescript.js) over a source file: the token stream the duplicate
 * finder hashes (two codes per token: exact for type-1 clones, normalised for type-2), the line of
 * every token, the module specifiers it imports and the names it exports. Comments and whitespace
 * are trivia and never become tokens. The scanner is created once per process and reused; a file
 * is scanned in one loop (kinds and offsets), then its lines and codes are filled in a second.
 */

/** Normalised code of identifiers (type 2: renamed identifiers compare equal). */
export const IDENT_CODE = Kind.Identifier;
/** Normalised code of every literal (numbers, strings, regexes, template text). */
export const LITERAL_CODE = 1;

export interface ImportRef {
  /** The module specifier as written (`./bus.ts`, `zod`, `node:fs`). */
  readonly specifier: string;
  /** 1-based line of the `import`/`export` keyword. */
  readonly line: number;
  /** `import type …` / `export type … from`: erased at run time. */
  readonly typeOnly: boolean;
  /** `import("…")` or `require("…")`. */
  readonly dynamic: boolean;
}

export interface TokenizedFile {
  readonly path: string;
  /** Exact codes: SyntaxKind for keywords and punctuation, interned text for names and literals. */
  readonly exact: Int32Array;
  /** Normalised codes: identifiers → IDENT_CODE, literals → LITERAL_CODE. */
  readonly shape: Int32Array;
  /** 1-based start line of every token. */
  readonly line: Int32Array;
  /**
   * 1-based end line of every token (differs from `line` for multi-line template literals; `line`
   * itself when no token of the file spans lines).
   */
  readonly endLine: Int32Array;
  /** Physical lines of the file. */
  readonly lines: number;
  readonly imports: readonly ImportRef[];
  /** Top-level exported names (`export const X`, `export function f`, `export { a, b as c }`). */
  readonly exports: readonly string[];
}

/**
 * The exact code of a name or literal: a 32-bit FNV-1a hash of its characters, kept above every
 * SyntaxKind (bit 30 set) so it never equals a keyword or punctuation code. Hashing the source text in
 * place avoids a substring and a map lookup per token, and the codes are the same in every run (the
 * clone fingerprints rely on it). Two different texts with the same hash would compare equal: at
 * 2^-31 per pair of distinct names this is accepted.
 */
function textCode(text: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h & 0x3fffffff) | 0x40000000;
}

const K = Kind;

let scanner: Lexer | undefined;

/** Offsets where lines start, reused from file to file (the first `count` entries are this file's). */
let lineStarts = new Int32Array(1 << 14);

/**
 * Fills `lineStarts` with the offsets where lines start (after `\n`, `\r\n` or a lone `\r`), as the
 * scanner counts them; returns how many.
 */
function lineStartsOf(text: string): number {
  if (text.indexOf("\r") < 0) return lfLineStarts(text);
  let out = lineStarts;
  let count = 1;
  out[0] = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 10 && c !== 13) continue;
    if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
    if (count === out.length) out = grownLineStarts(count);
    out[count++] = i + 1;
  }
  return count;
}

/** Doubles `lineStarts` (its first `count` entries kept) and returns it. */
function grownLineStarts(count: number): typeof lineStarts {
  const grown = new Int32Array(2 * count);
  grown.set(lineStarts);
  lineStarts = grown;
  return grown;
}

/** lineStartsOf for a text without `\r`: found by indexOf (a native search), not char by char. */
function lfLineStarts(text: string): number {
  let out = lineStarts;
  let count = 1;
  out[0] = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) {
    if (count === out.length) out = grownLineStarts(count);
    out[count++] = i + 1;
  }
  return count;
}

/** Language variant from the extension: 1 (ts.LanguageVariant.JSX) for .tsx/.jsx, else 0. */
function variantOf(path: string): number {
  return path.endsWith(".tsx") || path.endsWith(".jsx") ? 1 : 0;
}

/**
 * A little of every kind of token (numbers, regular expressions, nested templates, private names,
 * escapes, other scripts, CRLF, JSX, imports and exports), tokenised once when the scanner is made:
 * V8 optimises the scanning loops after a few files, and code optimised before it has seen a kind of
 * token is thrown away at the first one (then interpreted again until it is re-optimised), so a short
 * run loses less when every branch has been taken once before.
 */
const SAMPLE = [
  "#!/usr/bin/env node",
  'import type { A } from "./a.ts"; import b, { c as d } from "b"; export * from "e"; export { f } from "f";',
  "const a = 1_000n + 0xFF_FFn + 0b1010 + 0o17 + .5e-3 + 1.5 + 017 + 08.5 + 1e10 + 2E+3 + 1.5n + 1nn;",
  "const r = /[/\\]]+/gu.test(x) ? a / b / c : /=/.source; x /= 2; y = (a) / 2;",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: source text with templates in it
  "const t = `a${b + `c${d}e`}f${ {x: 1}.x }g` + tag`h${i}`; const u = `\\${no}`;",
  "class C { #p = 1; m() { return this.#p?.toString() ?? a?.b ?? c?.5:0; } } # \u00a0 \u0000",
  "let s = 'it\\'s' + \"q\\u0041\"; let x = a >>>= b >> c >= d => e; /* c */ // d\r\n",
  "let ünïcode = 1, \\u0061bc = 2, a\\u{62}c = 3; a\u2028b; x = y\n/ 2; @dec label: for (;;) break label;",
  "export const X = 1; export function* g() {} export { a, b as c }; export default class {} export type T = 1;",
  'export declare abstract class D {} const m = await import("c"); require("d"); x.require("e"); import.meta;',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: source text with templates in it
  "const w = `multi\nline ${x}\n${y} tail\n`; z = /open; ) let q = 'open\nlet v = `open",
].join("\n");

/** The scanner, made on first use, when SAMPLE is tokenised once. */
function theScanner(): Lexer {
  if (scanner === undefined) {
    scanner = new Lexer();
    tokenize("sample.ts", SAMPLE);
    tokenize("sample.tsx", "const a = <div>{x}</div>; const b = a </* c */ 2;\uFFFD");
  }
  return scanner;
}

/** Tokenises one file. Never throws on bad syntax: the scanner carries on past errors. */
export function tokenize(path: string, text: string): TokenizedFile {
  const scanner = theScanner();
  scanner.setLanguageVariant(variantOf(path));
  scanner.setText(text);
  const buf = sharedBuffer();
  const n = scanner.scanAll(buf);
  scanner.setText("");
  return tokenized(path, text, buf, n);
}

/** The token arrays of one file as they fill, doubled when full. */
class TokenBuffer implements TokenSpans {
  kind: Int32Array;
  start: Int32Array;
  end: Int32Array;
  exact: Int32Array;
  shape: Int32Array;
  line: Int32Array;
  endLine: Int32Array;

  constructor(cap: number) {
    this.kind = new Int32Array(cap);
    this.start = new Int32Array(cap);
    this.end = new Int32Array(cap);
    this.exact = new Int32Array(cap);
    this.shape = new Int32Array(cap);
    this.line = new Int32Array(cap);
    this.endLine = new Int32Array(cap);
  }

  /** Doubles every array, the tokens so far kept. */
  grow(): void {
    const grow = (a: Int32Array) => {
      const b = new Int32Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.kind = grow(this.kind);
    this.start = grow(this.start);
    this.end = grow(this.end);
    this.exact = grow(this.exact);
    this.shape = grow(this.shape);
    this.line = grow(this.line);
    this.endLine = grow(this.endLine);
  }
}

/**
 * Where the token arrays of scanned files are kept: views into large buffers, one per kind of array,
 * filled in scan order, not an ArrayBuffer per file and array. Files scanned one after another are
 * adjacent in them, so the clone search (duplicates.ts) takes a set of them laid end to end as it is,
 * without a copy (fresh memory is slow to touch on a VM; a buffer's untouched pages cost nothing). A
 * buffer is kept while any file in it is: a warm process that re-scans changed files holds at most
 * its files' tokens again, in buffers of SLAB_TOKENS.
 */
class Slab {
  private buf = new Int32Array(0);
  private used = 0;

  /** A copy of the first `n` entries of `from`, in the current buffer (a new one when it is full). */
  copy(from: Int32Array, n: number): Int32Array {
    if (this.used + n > this.buf.length) {
      this.buf = new Int32Array(Math.max(SLAB_TOKENS, n));
      this.used = 0;
    }
    const out = this.buf.subarray(this.used, this.used + n);
    out.set(from.subarray(0, n));
    this.used += n;
    return out;
  }
}
const SLAB_TOKENS = 1 << 20;
const slabs = { exact: new Slab(), shape: new Slab(), line: new Slab(), endLine: new Slab() };

/** The token buffer, reused from file to file (each file's arrays are copied out of it, into slabs). */
let shared: TokenBuffer | undefined;
const sharedBuffer = () => {
  // Small at first: SAMPLE grows it, so the scanning loop has run its grow call before any file.
  shared ??= new TokenBuffer(1 << 7);
  return shared;
};

/**
 * Whether the string literal after `prev2 prev` can be a module specifier (findImports and
 * keepDeclarationNames look no further): after `from` or `import`, or `import(`, `export(`, `require(`.
 */
function specifierPosition(prev: number, prev2: number): boolean {
  if (prev === K.FromKeyword || prev === K.ImportKeyword) return true;
  return (
    prev === K.OpenParenToken &&
    (prev2 === K.ImportKeyword || prev2 === K.ExportKeyword || prev2 === K.RequireKeyword)
  );
}

/** tokenize with a given scanner (lexer.test.ts passes TypeScript's own to compare the two). */
export function tokenizeWith(s: TokenScanner, path: string, text: string): TokenizedFile {
  s.setLanguageVariant(variantOf(path));
  s.setText(text);
  const buf = sharedBuffer();
  // The scanner's own values of the string literals that can be module specifiers.
  const strings = new Map<number, string>();
  const nest: Nesting = { depth: 0, templates: [] };
  let n = 0;
  for (let prev = -1, prev2 = -1; ; n++) {
    const kind = inContext(s, s.scan(), prev, nest);
    if (kind === K.EndOfFileToken) break;
    if (n === buf.kind.length) buf.grow();
    buf.kind[n] = kind;
    buf.start[n] = s.getTokenStart();
    buf.end[n] = s.getTokenEnd();
    if (kind === K.StringLiteral && specifierPosition(prev, prev2)) strings.set(n, s.getTokenValue());
    prev2 = prev;
    prev = kind;
  }
  s.setText("");
  return tokenized(path, text, buf, n, strings);
}

/** The file whose token texts nameAt gives (set per file: one function for every file, not a closure each). */
const named: { text: string; n: number; buf: TokenBuffer | undefined } = { text: "", n: 0, buf: undefined };
/** The text of token `i` of the file being tokenised (`named`), or undefined past its last. */
const nameAt = (i: number): string | undefined =>
  i < named.n && named.buf !== undefined ? named.text.slice(named.buf.start[i], named.buf.end[i]) : undefined;

/** The values of the string literals among the first `n` tokens of `buf` that can be module specifiers. */
function specifierValues(text: string, buf: TokenBuffer, n: number): Map<number, string> {
  const out = new Map<number, string>();
  const kinds = buf.kind.subarray(0, n);
  // From string to string by a native search: one in twenty tokens or so, not a loop over every one.
  for (let i = kinds.indexOf(K.StringLiteral, 1); i >= 0; i = kinds.indexOf(K.StringLiteral, i + 1)) {
    if (specifierPosition(kinds[i - 1] as number, i > 1 ? (kinds[i - 2] as number) : -1))
      out.set(i, stringValue(text, buf.start[i] as number, buf.end[i] as number));
  }
  return out;
}

/**
 * The lines and codes of the first `n` tokens of `buf` (the file's `lineCount` line starts in
 * lineStarts): the loop alone in its function, which V8 then optimises soon and quickly. Whether a
 * token ends on a later line than it starts (else the end lines are the start lines).
 */
function linesAndCodes(text: string, buf: TokenBuffer, n: number, lineCount: number): boolean {
  const starts = lineStarts;
  const { kind: kindOf, start, end, exact, shape, line, endLine } = buf;
  let li = 0;
  let spread = 0;
  for (let i = 0; i < n; i++) {
    const kind = kindOf[i] as number;
    const a = start[i] as number;
    const b = end[i] as number;
    // Lines by a cursor over the line starts (tokens come in order); most tokens end on their line.
    while (li + 1 < lineCount && (starts[li + 1] as number) <= a) li++;
    line[i] = li + 1;
    let le = li;
    while (le + 1 < lineCount && (starts[le + 1] as number) < b) le++;
    endLine[i] = le + 1;
    spread |= le ^ li;
    if (kind === K.Identifier || kind === K.PrivateIdentifier) {
      exact[i] = textCode(text, a, b);
      shape[i] = IDENT_CODE;
    } else if (isLiteral(kind)) {
      exact[i] = textCode(text, a, b);
      shape[i] = LITERAL_CODE;
    } else {
      exact[i] = kind;
      shape[i] = kind;
    }
  }
  return spread !== 0;
}

/**
 * The tokenised file from the first `n` kinds and offsets of `buf`: lines, exact and shape codes,
 * imports and exports. `given` holds the scanner's values of the string literals that can be module
 * specifiers; without it they are cooked here (stringValue, as lexer.ts's scanner cooks them).
 */
function tokenized(
  path: string,
  text: string,
  buf: TokenBuffer,
  n: number,
  given?: Map<number, string>,
): TokenizedFile {
  const lineCount = lineStartsOf(text);
  const multiLine = linesAndCodes(text, buf, n, lineCount);
  const strings = given ?? specifierValues(text, buf, n);
  const { exact, shape, line, endLine } = buf;
  const kinds = shape.subarray(0, n);
  const imports = findImports(kinds, line, strings);
  named.text = text;
  named.n = n;
  named.buf = buf;
  const exports = findExports(kinds, nameAt);
  const shapes = slabs.shape.copy(shape, n);
  keepDeclarationNames(kinds, exact, shapes, strings);
  const lines = slabs.line.copy(line, n);
  return {
    path,
    exact: slabs.exact.copy(exact, n),
    shape: shapes,
    line: lines,
    // One array for both when no token spans lines (most files: fresh memory is slow to touch).
    endLine: multiLine ? slabs.endLine.copy(endLine, n) : lines,
    lines: lineCount - (text.endsWith("\n") ? 1 : 0),
    imports,
    exports,
  };
}

/**
 * Import and re-export declarations keep their names and specifiers in the shape codes (`out`): a
 * list that imports other names from other modules is not the same code renamed, and without this
 * every file with a few imports is a type-2 clone of every other one. Type-1 clones are not affected.
 */
function keepDeclarationNames(
  kinds: Int32Array,
  exact: Int32Array,
  out: Int32Array,
  strings: Map<number, string>,
): void {
  for (let i = 0; i < kinds.length; i++) {
    const k = kinds[i];
    if (k !== K.ImportKeyword && k !== K.ExportKeyword) continue;
    if ((i > 0 && kinds[i - 1] === K.DotToken) || kinds[i + 1] === K.OpenParenToken) continue;
    const last = declarationEnd(kinds, strings, i);
    if (last < 0) continue;
    for (let j = i; j <= last; j++) out[j] = exact[j] as number;
    i = last;
  }
}

/**
 * The index of the module specifier of the static import or `export … from` declaration at `i`
 * (`import "x"`, or the string after its `from`), or -1: a `;`, `=`, `(` or a keyword that starts a
 * statement ends the search.
 */
function specifierAt(kinds: Int32Array, strings: Map<number, string>, i: number): number {
  if (kinds[i] === K.ImportKeyword && strings.has(i + 1)) return i + 1;
  for (let j = i + 1; j < kinds.length && j < i + 4000; j++) {
    const kj = kinds[j];
    if (kj === K.FromKeyword && strings.has(j + 1)) return j + 1;
    if (kj === K.SemicolonToken || kj === K.EqualsToken || kj === K.OpenParenToken) return -1;
    if (kj === K.ImportKeyword || kj === K.ExportKeyword) return -1;
  }
  return -1;
}

/** The last token (its `;` when there is one) of the import or `export … from` declaration at `i`, or -1. */
function declarationEnd(kinds: Int32Array, strings: Map<number, string>, i: number): number {
  const spec = specifierAt(kinds, strings, i);
  return spec < 0 || kinds[spec + 1] !== K.SemicolonToken ? spec : spec + 1;
}

/** `import … from "x"`, `import "x"`, `export … from "x"`, `import("x")`, `require("x")`. */
function findImports(kinds: Int32Array, line: Int32Array, strings: Map<number, string>): ImportRef[] {
  const out: ImportRef[] = [];
  const n = kinds.length;
  for (let i = 0; i < n; i++) {
    const k = kinds[i];
    // `require` is a contextual keyword for the scanner, not an identifier.
    if (k !== K.ImportKeyword && k !== K.ExportKeyword && k !== K.RequireKeyword) continue;
    if (i > 0 && kinds[i - 1] === K.DotToken) continue; // import.meta, x.require
    const ln = line[i] as number;
    if (kinds[i + 1] === K.OpenParenToken && strings.has(i + 2) && kinds[i + 3] === K.CloseParenToken) {
      // import("x") / require("x")
      if (k !== K.ExportKeyword) {
        out.push({ specifier: strings.get(i + 2) as string, line: ln, typeOnly: false, dynamic: true });
      }
      continue;
    }
    if (k === K.RequireKeyword) continue;
    const typeOnly = !strings.has(i + 1) && kinds[i + 1] === K.TypeKeyword && kinds[i + 2] !== K.FromKeyword;
    if (k === K.ExportKeyword) {
      const next = kinds[typeOnly ? i + 2 : i + 1];
      if (next !== K.OpenBraceToken && next !== K.AsteriskToken) continue;
    }
    const spec = specifierAt(kinds, strings, i);
    if (spec >= 0) out.push({ specifier: strings.get(spec) as string, line: ln, typeOnly, dynamic: false });
  }
  return out;
}

/** The top-level names a file exports (for task decomposition by symbol). */
function findExports(kinds: Int32Array, nameAt: (i: number) => string | undefined): string[] {
  const out = new Set<string>();
  const n = kinds.length;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const k = kinds[i];
    if (k === K.OpenBraceToken) depth++;
    else if (k === K.CloseBraceToken) depth--;
    if (k !== K.ExportKeyword || depth !== 0) continue;
    let j = i + 1;
    while (kinds[j] === K.DeclareKeyword || kinds[j] === K.DefaultKeyword || kinds[j] === K.AsyncKeyword) j++;
    if (kinds[j] === K.AbstractKeyword) j++;
    const kj = kinds[j];
    if (kj === K.OpenBraceToken) {
      // export { a, b as c } [from "x"]
      for (j++; j < n && kinds[j] !== K.CloseBraceToken; j++) {
        const after = kinds[j + 1];
        if (after === K.CommaToken || after === K.CloseBraceToken) {
          const name = nameAt(j);
          if (name !== undefined && name !== "type") out.add(name);
        }
      }
      continue;
    }
    if (
      kj === K.FunctionKeyword ||
      kj === K.ClassKeyword ||
      kj === K.ConstKeyword ||
      kj === K.LetKeyword ||
      kj === K.VarKeyword ||
      kj === K.InterfaceKeyword ||
      kj === K.TypeKeyword ||
      kj === K.EnumKeyword ||
      kj === K.NamespaceKeyword
    ) {
      let m = j + 1;
      if (kinds[m] === K.AsteriskToken) m++; // export function* gen
      const name = nameAt(m);
      if (name !== undefined) out.add(name);
    }
  }
  return [...out];
}
