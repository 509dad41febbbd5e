import { Kind } from "./lexer-kinds.ts";
import { Lexer, type TokenScanner } from "./lexer.ts";

/**
 * One pass of a scanner (lexer.ts: TypeScript's own tokens, without loading typescript.js) over a source file: the token stream the duplicate
 * finder hashes (two codes per token: exact for type-1 clones, normalised for type-2), the line of
 * every token, the module specifiers it imports and the names it exports. Comments and whitespace
 * are trivia and never become tokens. The scanner is created once per process and reused.
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
  /** 1-based end line of every token (differs from `line` for multi-line template literals). */
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

function isLiteral(kind: number): boolean {
  return (
    kind === K.NumericLiteral ||
    kind === K.BigIntLiteral ||
    kind === K.StringLiteral ||
    kind === K.RegularExpressionLiteral ||
    kind === K.NoSubstitutionTemplateLiteral ||
    kind === K.TemplateHead ||
    kind === K.TemplateMiddle ||
    kind === K.TemplateTail
  );
}

/** After these tokens a `/` starts a regular expression, not a division. */
function regexMayFollow(prev: number | undefined): boolean {
  if (prev === undefined) return true;
  if (prev === K.Identifier || prev === K.PrivateIdentifier || isLiteral(prev)) return false;
  if (prev === K.CloseParenToken || prev === K.CloseBracketToken || prev === K.CloseBraceToken) return false;
  if (prev === K.PlusPlusToken || prev === K.MinusMinusToken) return false;
  if (prev === K.ThisKeyword || prev === K.SuperKeyword || prev === K.TrueKeyword) return false;
  if (prev === K.FalseKeyword || prev === K.NullKeyword) return false;
  return true;
}

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

/** Tokenises one file. Never throws on bad syntax: the scanner carries on past errors. */
export function tokenize(path: string, text: string): TokenizedFile {
  scanner ??= new Lexer();
  return tokenizeWith(scanner, path, text);
}

/** The token arrays of one file as they fill, doubled when full. */
class TokenBuffer {
  exact: Int32Array;
  shape: Int32Array;
  line: Int32Array;
  endLine: Int32Array;
  start: Int32Array;
  end: Int32Array;
  n = 0;

  constructor(cap: number) {
    this.exact = new Int32Array(cap);
    this.shape = new Int32Array(cap);
    this.line = new Int32Array(cap);
    this.endLine = new Int32Array(cap);
    this.start = new Int32Array(cap);
    this.end = new Int32Array(cap);
  }

  /** Room for one more token. */
  reserve(): void {
    if (this.n < this.exact.length) return;
    const grow = (a: Int32Array) => {
      const b = new Int32Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.exact = grow(this.exact);
    this.shape = grow(this.shape);
    this.line = grow(this.line);
    this.endLine = grow(this.endLine);
    this.start = grow(this.start);
    this.end = grow(this.end);
  }
}

/** Brace depth, and the depth at each open template substitution (its `}` resumes the template). */
interface Nesting {
  depth: number;
  readonly templates: number[];
}

/** The next token's kind: a `/` re-scanned as a regex where one may start, a `}` as a template part. */
function nextKind(s: TokenScanner, prev: number | undefined, nest: Nesting): number {
  let kind = s.scan();
  if (kind === K.SlashToken || kind === K.SlashEqualsToken) {
    if (regexMayFollow(prev)) kind = s.reScanSlashToken();
  } else if (kind === K.OpenBraceToken) {
    nest.depth++;
  } else if (kind === K.CloseBraceToken) {
    const t = nest.templates;
    if (t.length > 0 && t[t.length - 1] === nest.depth) {
      kind = s.reScanTemplateToken(false);
      if (kind === K.TemplateTail) t.pop();
    } else {
      nest.depth--;
    }
  }
  if (kind === K.TemplateHead) nest.templates.push(nest.depth);
  return kind;
}

/** The exact and shape codes of token `n` of kind `kind` spanning [a, b). */
function setCodes(buf: TokenBuffer, text: string, kind: number, a: number, b: number): void {
  const n = buf.n;
  if (kind === K.Identifier || kind === K.PrivateIdentifier) {
    buf.exact[n] = textCode(text, a, b);
    buf.shape[n] = IDENT_CODE;
  } else if (isLiteral(kind)) {
    buf.exact[n] = textCode(text, a, b);
    buf.shape[n] = LITERAL_CODE;
  } else {
    buf.exact[n] = kind;
    buf.shape[n] = kind;
  }
}

/** The line index (0-based) of offset `pos` among `count` line starts, searching forward from `from`. */
function lineAt(starts: Int32Array, count: number, pos: number, from: number): number {
  let i = from;
  while (i + 1 < count && (starts[i + 1] as number) <= pos) i++;
  return i;
}

/** The token buffer, reused from file to file (each file's arrays are copied out of it). */
let shared: TokenBuffer | undefined;

/**
 * Whether the string literal after `prev2 prev` can be a module specifier (findImports and
 * keepDeclarationNames look no further): after `from` or `import`, or `import(`, `export(`, `require(`.
 */
function specifierPosition(prev: number | undefined, prev2: number | undefined): boolean {
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
  const lineCount = lineStartsOf(text);
  const starts = lineStarts;
  shared ??= new TokenBuffer(1 << 14);
  const buf = shared;
  buf.n = 0;
  // String literals that can be module specifiers (after `from`, `import`, `import(`…): index → value.
  const strings = new Map<number, string>();
  let li = 0;
  let prev: number | undefined;
  let prev2: number | undefined;
  const nest: Nesting = { depth: 0, templates: [] };
  for (;;) {
    const kind = nextKind(s, prev, nest);
    if (kind === K.EndOfFileToken) break;
    buf.reserve();
    const a = s.getTokenStart();
    const b = s.getTokenEnd();
    buf.start[buf.n] = a;
    buf.end[buf.n] = b;
    li = lineAt(starts, lineCount, a, li);
    buf.line[buf.n] = li + 1;
    buf.endLine[buf.n] = lineAt(starts, lineCount, b - 1, li) + 1;
    setCodes(buf, text, kind, a, b);
    if (kind === K.StringLiteral && specifierPosition(prev, prev2)) strings.set(buf.n, s.getTokenValue());
    prev2 = prev;
    prev = kind;
    buf.n++;
  }
  const { exact, shape, line, endLine, start, end, n } = buf;
  s.setText("");
  const kinds = shape.subarray(0, n);
  const nameAt = (i: number): string | undefined => (i < n ? text.slice(start[i], end[i]) : undefined);
  const imports = findImports(kinds, line, strings);
  const exports = findExports(kinds, nameAt);
  const shapes = shape.slice(0, n);
  keepDeclarationNames(kinds, exact, shapes, strings);
  return {
    path,
    exact: exact.slice(0, n),
    shape: shapes,
    line: line.slice(0, n),
    endLine: endLine.slice(0, n),
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
