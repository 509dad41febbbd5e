import { KEYWORDS, Kind, PUNCTUATION } from "./lexer-kinds.ts";

/**
 * A TypeScript/JavaScript tokenizer without typescript.js (whose load is most of a short analysis
 * run): the same tokens, kinds and offsets as `ts.createScanner(Latest, skipTrivia = true)` for what the
 * duplicate finder asks of it (scan, plus the re-scans of `/` as a regular expression and of `}` as a
 * template continuation, which inContext decides as a parser would). `Lexer.scanAll` gives a whole
 * file's tokens in context in one loop; the scan/re-scan interface is what `ts.Scanner` shares with it.
 * Comments, whitespace and a leading `#!` line are trivia. JSX text is not
 * scanned (the TypeScript scanner leaves it to the parser too); only `</` is a token of its own in JSX.
 */

/** What tokens.ts needs of a scanner; `ts.Scanner` has the same shape (lexer.test.ts compares them). */
export interface TokenScanner {
  setText(text: string): void;
  /** ts.LanguageVariant: 0 standard, 1 JSX. */
  setLanguageVariant(variant: number): void;
  scan(): number;
  reScanSlashToken(): number;
  reScanTemplateToken(isTaggedTemplate: boolean): number;
  getTokenStart(): number;
  getTokenEnd(): number;
  /** The cooked value of the last string literal. */
  getTokenValue(): string;
}

/**
 * Keywords (all lowercase ASCII) by first letter (0 = `a`) and length: candidates compared in place.
 * Every slot holds a list (most of them the same empty one): no hole or out-of-range read in the
 * scanning loop, which V8 would compile for and then throw away at the first name that needs it.
 */
const NO_KEYWORDS: readonly (readonly [string, number])[] = [];
const KEYWORD_BY_START: (readonly (readonly [string, number])[])[] = Array.from(
  { length: 26 * 16 },
  () => NO_KEYWORDS,
);
for (const kw of KEYWORDS) {
  const slot = (kw[0].charCodeAt(0) - 97) * 16 + kw[0].length;
  KEYWORD_BY_START[slot] = [...(KEYWORD_BY_START[slot] as (readonly [string, number])[]), kw];
}

/** The kind of the word [start, end) of `text`: its keyword's, else Identifier (no substring is made). */
function wordKind(text: string, start: number, end: number): number {
  const len = end - start;
  const first = text.charCodeAt(start);
  if (len < 2 || len > 12 || first < 97 || first > 122) return Kind.Identifier;
  const candidates = KEYWORD_BY_START[(first - 97) * 16 + len] as readonly (readonly [string, number])[];
  for (let i = 0; i < candidates.length; i++) {
    const cand = candidates[i] as readonly [string, number];
    if (text.startsWith(cand[0], start)) return cand[1];
  }
  return Kind.Identifier;
}

/** Punctuation by its first character, longest first. */
const PUNCT_BY_CHAR: (readonly (readonly [string, number])[])[] = [];
for (const p of [...PUNCTUATION].sort((a, b) => b[0].length - a[0].length)) {
  const c = p[0].charCodeAt(0);
  PUNCT_BY_CHAR[c] = [...(PUNCT_BY_CHAR[c] ?? []), p];
}

const ID_START = /[\p{ID_Start}]/u;
const ID_PART = /[\p{ID_Continue}\u200c\u200d]/u;

/** 1 for the ASCII characters that can start an identifier (letters, `$`, `_`). */
const ASCII_ID_START = new Uint8Array(128);
for (let c = 0; c < 128; c++)
  ASCII_ID_START[c] = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 36 || c === 95 ? 1 : 0;

/** The kind of the ASCII characters that are a punctuation token alone, whatever follows; else 0. */
const SINGLE_PUNCT = new Int32Array(128);
for (const [c, list] of PUNCT_BY_CHAR.entries())
  if (list !== undefined && list.length === 1 && list[0]?.[0].length === 1 && c < 128 && c !== 60 && c !== 63)
    SINGLE_PUNCT[c] = list[0][1];

const isDigit = (c: number) => c >= 48 && c <= 57;
const isLineBreak = (c: number) => c === 10 || c === 13 || c === 0x2028 || c === 0x2029;

function isSpace(c: number): boolean {
  if (c === 32 || c === 9 || c === 11 || c === 12) return true;
  if (c < 128) return false;
  return (
    c === 160 ||
    c === 133 ||
    c === 5760 ||
    (c >= 8192 && c <= 8203) ||
    c === 8239 ||
    c === 8287 ||
    c === 12288 ||
    c === 65279
  );
}

function isIdStart(c: number): boolean {
  if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 36 || c === 95) return true;
  return c > 127 && ID_START.test(String.fromCodePoint(c));
}

function isIdPart(c: number): boolean {
  if (isIdStart(c) || isDigit(c)) return true;
  return c > 127 && ID_PART.test(String.fromCodePoint(c));
}

const charSize = (c: number) => (c >= 0x10000 ? 2 : 1);

/** Offset after the digits (and `_` separators) from `pos` that `ok` accepts. */
function skipWhile(text: string, pos: number, ok: (c: number) => boolean): number {
  let p = pos;
  while (p < text.length && ok(text.charCodeAt(p))) p++;
  return p;
}

const isDecimalOrSep = (c: number) => isDigit(c) || c === 95;
const isHexOrSep = (c: number) => isDecimalOrSep(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);

/** 1 for the ASCII characters that can continue an identifier (letters, digits, `$`, `_`). */
const ASCII_ID_PART = new Uint8Array(128);
for (let c = 0; c < 128; c++) ASCII_ID_PART[c] = isIdStart(c) || isDigit(c) ? 1 : 0;

/** Offset after the identifier characters from `pos` (`\uXXXX` escapes included). */
function skipIdentifierParts(text: string, pos: number): number {
  let p = pos;
  // ASCII first, by table; anything else (escapes, other scripts) below.
  for (let c = text.charCodeAt(p); c < 128 && ASCII_ID_PART[c] === 1; c = text.charCodeAt(p)) p++;
  while (p < text.length) {
    const c = text.codePointAt(p) as number;
    if (isIdPart(c)) p += charSize(c);
    else if (c === 92 && text.charCodeAt(p + 1) === 117) p = skipUnicodeEscape(text, p);
    else break;
  }
  return p;
}

/** Offset after `\uXXXX` or `\u{…}` at `pos`. */
function skipUnicodeEscape(text: string, pos: number): number {
  if (text.charCodeAt(pos + 2) !== 123) return pos + 6;
  const close = text.indexOf("}", pos + 3);
  return close < 0 ? text.length : close + 1;
}

/** The code point an identifier-start `\u` escape at `pos` stands for, or -1. */
function escapedChar(text: string, pos: number): number {
  if (text.charCodeAt(pos + 1) !== 117) return -1;
  const m = /^\\u(?:([0-9a-fA-F]{4})|\{([0-9a-fA-F]{1,6})\})/.exec(text.slice(pos, pos + 12));
  if (m === null) return -1;
  return Number.parseInt((m[1] ?? m[2]) as string, 16);
}

/** Offset after whitespace, line breaks, comments and a first-line `#!`, from `pos`. */
function skipTrivia(text: string, pos: number): number {
  let p = pos;
  if (p === 0 && text.startsWith("#!")) p = skipToLineEnd(text, 2);
  while (p < text.length) {
    const c = text.charCodeAt(p);
    if (isSpace(c) || isLineBreak(c)) p++;
    else if (c === 47 && text.charCodeAt(p + 1) === 47) p = skipToLineEnd(text, p + 2);
    else if (c === 47 && text.charCodeAt(p + 1) === 42) p = skipBlockComment(text, p + 2);
    else if (c === 0xfffd)
      p = text.length; // the scanner's "file appears to be binary"
    else break;
  }
  return p;
}

/** A line break, searched from `lastIndex` (a native search, not a loop over the characters). */
const LINE_BREAK = /[\n\r\u2028\u2029]/g;

function skipToLineEnd(text: string, pos: number): number {
  LINE_BREAK.lastIndex = pos;
  return LINE_BREAK.test(text) ? LINE_BREAK.lastIndex - 1 : text.length;
}

function skipBlockComment(text: string, pos: number): number {
  const close = text.indexOf("*/", pos);
  return close < 0 ? text.length : close + 2;
}

/** Offset after an escape sequence at `pos` (the backslash): `\` + CR LF is one. */
function skipEscape(text: string, pos: number): number {
  const p = pos + 2;
  return text.charCodeAt(p - 1) === 13 && text.charCodeAt(p) === 10 ? p + 1 : Math.min(p, text.length);
}

/** Offset after a string literal opened at `pos`; an unterminated one ends at its line's end. */
function skipString(text: string, pos: number): number {
  const quote = text.charCodeAt(pos);
  let p = pos + 1;
  while (p < text.length) {
    const c = text.charCodeAt(p);
    if (c === quote) return p + 1;
    if (c === 92) p = skipEscape(text, p);
    else if (c === 10 || c === 13) return p;
    else p++;
  }
  return p;
}

/**
 * A template part from `pos` (its backtick, or the `}` closing a substitution): its end and kind
 * (no-substitution / head when it started with a backtick, middle / tail after a `}`).
 */
function scanTemplate(text: string, pos: number): { end: number; kind: number } {
  const fromBacktick = text.charCodeAt(pos) === 96;
  let p = pos + 1;
  while (p < text.length) {
    const c = text.charCodeAt(p);
    if (c === 96)
      return { end: p + 1, kind: fromBacktick ? Kind.NoSubstitutionTemplateLiteral : Kind.TemplateTail };
    if (c === 36 && text.charCodeAt(p + 1) === 123)
      return { end: p + 2, kind: fromBacktick ? Kind.TemplateHead : Kind.TemplateMiddle };
    p = c === 92 ? skipEscape(text, p) : p + 1;
  }
  return { end: p, kind: fromBacktick ? Kind.NoSubstitutionTemplateLiteral : Kind.TemplateTail };
}

/** A number from `pos` (a digit or a `.` before one): its end and kind (numeric or bigint). */
function scanNumber(text: string, pos: number): { end: number; kind: number } {
  const c1 = text.charCodeAt(pos + 1) | 32;
  if (text.charCodeAt(pos) === 48 && pos + 2 < text.length && (c1 === 120 || c1 === 98 || c1 === 111)) {
    const end = skipWhile(text, pos + 2, c1 === 120 ? isHexOrSep : isDecimalOrSep);
    return bigIntSuffix(text, end);
  }
  if (text.charCodeAt(pos) === 48 && isDigit(text.charCodeAt(pos + 1))) return legacyOctal(text, pos);
  const intEnd = skipWhile(text, pos, isDecimalOrSep);
  const end = fractionAndExponent(text, intEnd);
  if (end === intEnd) return afterInteger(text, end);
  // `1.5n`: the scanner reports the bigint error and takes the `n` into the literal.
  const n = text.charCodeAt(end) === 110 && !isIdPart(text.codePointAt(end + 1) ?? 0) ? 1 : 0;
  return { end: end + n, kind: Kind.NumericLiteral };
}

/** Offset after an optional `.digits` and `e[+-]digits` from `pos`. */
function fractionAndExponent(text: string, pos: number): number {
  let p = pos;
  if (text.charCodeAt(p) === 46) p = skipWhile(text, p + 1, isDecimalOrSep);
  if ((text.charCodeAt(p) | 32) === 101) {
    p++;
    const sign = text.charCodeAt(p);
    if (sign === 43 || sign === 45) p++;
    p = skipWhile(text, p, isDecimalOrSep);
  }
  return p;
}

function bigIntSuffix(text: string, end: number): { end: number; kind: number } {
  return text.charCodeAt(end) === 110
    ? { end: end + 1, kind: Kind.BigIntLiteral }
    : { end, kind: Kind.NumericLiteral };
}

/** `10n`, and `1n` followed by a lone `n` (taken in as the scanner does, with an error). */
function afterInteger(text: string, end: number): { end: number; kind: number } {
  const r = bigIntSuffix(text, end);
  const lone = text.charCodeAt(r.end) === 110 && !isIdPart(text.codePointAt(r.end + 1) ?? 0);
  return lone && r.kind === Kind.BigIntLiteral ? { end: r.end + 1, kind: r.kind } : r;
}

/** `017` (all octal digits: done) or `08.5` (decimal with a leading zero: fraction and exponent too). */
function legacyOctal(text: string, pos: number): { end: number; kind: number } {
  const end = skipWhile(text, pos + 1, isDigit);
  let octal = true;
  for (let i = pos + 1; i < end; i++) if (text.charCodeAt(i) > 55) octal = false;
  return { end: octal ? end : fractionAndExponent(text, end), kind: Kind.NumericLiteral };
}

/** The body's end of a regular expression whose `/` is at `pos`, and whether a `/` closes it. */
function regexBody(text: string, pos: number): { end: number; closed: boolean } {
  let p = pos + 1;
  let inClass = false;
  while (p < text.length) {
    const c = text.charCodeAt(p);
    if (isLineBreak(c)) break;
    if (c === 92 && isLineBreak(text.charCodeAt(p + 1))) {
      p++;
      break;
    }
    if (c === 92) p++;
    else if (c === 47 && !inClass) return { end: p, closed: true };
    else if (c === 91) inClass = true;
    else if (c === 93) inClass = false;
    p++;
  }
  return { end: Math.min(p, text.length), closed: false };
}

/**
 * Where the scanner ends an unterminated regular expression: at the first `)`, `]` or `}` that closes
 * nothing opened inside it (outside a class and a `{n,m}` quantifier), less trailing spaces and `;`.
 */
function unterminatedRegexEnd(text: string, from: number, to: number): number {
  let p = from;
  const depth = { cls: 0, group: 0, quant: false };
  while (p < to) {
    const c = text.charCodeAt(p);
    if (c === 92) p++;
    else if (regexStops(c, depth)) break;
    p++;
  }
  p = Math.min(p, to);
  while (
    p > from &&
    (isSpace(text.charCodeAt(p - 1)) || isLineBreak(text.charCodeAt(p - 1)) || text.charCodeAt(p - 1) === 59)
  )
    p--;
  return p;
}

/** Tracks classes, quantifiers and groups for unterminatedRegexEnd; true at a closer that closes nothing. */
function regexStops(c: number, d: { cls: number; group: number; quant: boolean }): boolean {
  if (c === 91) d.cls++;
  else if (c === 93 && d.cls > 0) d.cls--;
  else if (d.cls > 0) return false;
  else if (c === 123) d.quant = true;
  else if (c === 125 && d.quant) d.quant = false;
  else if (d.quant) return false;
  else if (c === 40) d.group++;
  else if (c === 41 && d.group > 0) d.group--;
  else return c === 41 || c === 93 || c === 125;
  return false;
}

/** The cooked text of a string literal's body (escapes resolved), for module specifiers. */
function cook(raw: string): string {
  if (!raw.includes("\\")) return raw;
  return raw.replace(
    /\\(?:u\{([0-9a-fA-F]+)\}|u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|\r\n|([\s\S]))/g,
    unescapeOne,
  );
}

const SIMPLE: Record<string, string> = { n: "\n", t: "\t", r: "\r", b: "\b", f: "\f", v: "\v", "0": "\0" };

function unescapeOne(m: string, cp?: string, u4?: string, x2?: string, ch?: string): string {
  const hex = cp ?? u4 ?? x2;
  if (hex !== undefined) return String.fromCodePoint(Number.parseInt(hex, 16));
  if (ch === undefined || isLineBreak(ch.charCodeAt(0)) || m === "\\\r\n") return "";
  return SIMPLE[ch] ?? ch;
}

/** A literal's kind: numbers, strings, regular expressions and template parts. */
export function isLiteral(kind: number): boolean {
  return (
    kind === Kind.NumericLiteral ||
    kind === Kind.BigIntLiteral ||
    kind === Kind.StringLiteral ||
    kind === Kind.RegularExpressionLiteral ||
    kind === Kind.NoSubstitutionTemplateLiteral ||
    kind === Kind.TemplateHead ||
    kind === Kind.TemplateMiddle ||
    kind === Kind.TemplateTail
  );
}

/** After these tokens (`prev` -1: none) a `/` starts a regular expression, not a division. */
export function regexMayFollow(prev: number): boolean {
  if (prev === -1) return true;
  if (prev === Kind.Identifier || prev === Kind.PrivateIdentifier || isLiteral(prev)) return false;
  if (prev === Kind.CloseParenToken || prev === Kind.CloseBracketToken || prev === Kind.CloseBraceToken)
    return false;
  if (prev === Kind.PlusPlusToken || prev === Kind.MinusMinusToken) return false;
  if (prev === Kind.ThisKeyword || prev === Kind.SuperKeyword || prev === Kind.TrueKeyword) return false;
  if (prev === Kind.FalseKeyword || prev === Kind.NullKeyword) return false;
  return true;
}

/** The kinds and offsets of a file's tokens as they fill (`grow` doubles the arrays, contents kept). */
export interface TokenSpans {
  kind: Int32Array;
  start: Int32Array;
  end: Int32Array;
  grow(): void;
}

/** Brace depth, and the depth at each open template substitution (its `}` resumes the template). */
export interface Nesting {
  depth: number;
  readonly templates: number[];
}

/**
 * The kind of the token `scan` just gave, as a parser would take it: a `/` re-scanned as a regular
 * expression where one may start (after `prev`, -1 for none), a `}` closing a substitution as a
 * template part; braces and open substitutions are tracked in `nest`.
 */
export function inContext(s: TokenScanner, kind: number, prev: number, nest: Nesting): number {
  let k = kind;
  if (k === Kind.SlashToken || k === Kind.SlashEqualsToken) {
    if (regexMayFollow(prev)) k = s.reScanSlashToken();
  } else if (k === Kind.OpenBraceToken) {
    nest.depth++;
  } else if (k === Kind.CloseBraceToken) {
    const t = nest.templates;
    if (t.length > 0 && t[t.length - 1] === nest.depth) {
      k = s.reScanTemplateToken(false);
      if (k === Kind.TemplateTail) t.pop();
    } else {
      nest.depth--;
    }
  }
  if (k === Kind.TemplateHead) nest.templates.push(nest.depth);
  return k;
}

/** Offset after the trivia from `pos` (skipTrivia without the `#!` line): the common characters inline. */
function skipSpace(text: string, pos: number): number {
  const len = text.length;
  let p = pos;
  while (p < len) {
    const c = text.charCodeAt(p);
    let next = p;
    if (c === 32 || c === 10 || c === 9 || c === 13) next = p + 1;
    else if (c === 47) next = commentEnd(text, p);
    else if (c >= 128 || c === 11 || c === 12) next = otherSpaceEnd(text, p, c);
    if (next === p) break;
    p = next;
  }
  return p;
}

/** Offset after the comment at `p` (a `/`), or `p` when none starts there. */
function commentEnd(text: string, p: number): number {
  const d = text.charCodeAt(p + 1);
  if (d === 47) return skipToLineEnd(text, p + 2);
  if (d === 42) return skipBlockComment(text, p + 2);
  return p;
}

/** Offset after the other white space or line break `c` at `p` (the binary mark ends the text), or `p`. */
function otherSpaceEnd(text: string, p: number, c: number): number {
  if (isSpace(c) || isLineBreak(c)) return p + 1;
  return c === 0xfffd ? text.length : p;
}

/** Offset after the ASCII identifier characters from `pos`, then any others (skipIdentifierParts). */
function identifierEnd(text: string, pos: number): number {
  const len = text.length;
  let e = pos;
  let d = e < len ? text.charCodeAt(e) : 0;
  while (d < 128 && ASCII_ID_PART[d] === 1) d = ++e < len ? text.charCodeAt(e) : 0;
  // Other scripts and `\u` escapes: the general loop.
  return d >= 128 || d === 92 ? skipIdentifierParts(text, e) : e;
}

/** The cooked value of the string literal at [start, end) of `text` (getTokenValue of the scanner). */
export function stringValue(text: string, start: number, end: number): string {
  // The body ends before the closing quote when there is one.
  const last = end - 1;
  const close = last > start && text.charCodeAt(last) === text.charCodeAt(start) ? last : end;
  return cook(text.slice(start + 1, close));
}

/** The scanner: one per caller, reused across files with setText. */
export class Lexer implements TokenScanner {
  private text = "";
  private pos = 0;
  private start = 0;
  private jsx = false;
  private kind: number = Kind.Unknown;

  setText(text: string): void {
    this.text = text;
    this.pos = 0;
    this.start = 0;
  }

  setLanguageVariant(variant: number): void {
    this.jsx = variant === 1;
  }

  getTokenStart(): number {
    return this.start;
  }

  getTokenEnd(): number {
    return this.pos;
  }

  getTokenValue(): string {
    return this.kind === Kind.StringLiteral ? stringValue(this.text, this.start, this.pos) : "";
  }

  scan(): number {
    this.pos = skipTrivia(this.text, this.pos);
    this.start = this.pos;
    this.kind =
      this.pos >= this.text.length
        ? Kind.EndOfFileToken
        : this.token(this.text.codePointAt(this.pos) as number);
    return this.kind;
  }

  private end(kind: number, end: number): number {
    this.pos = end;
    return kind;
  }

  private token(c: number): number {
    const text = this.text;
    const p = this.pos;
    // The commonest tokens first: ASCII names and one-character punctuation (the checks are disjoint).
    if (c < 128 && ASCII_ID_START[c] === 1) return this.identifier(c);
    const single = c < 128 ? (SINGLE_PUNCT[c] as number) : 0;
    if (single !== 0) return this.end(single, p + 1);
    if (c === 34 || c === 39) return this.end(Kind.StringLiteral, skipString(text, p));
    if (c === 96) return this.template();
    if (isDigit(c) || (c === 46 && isDigit(text.charCodeAt(p + 1)))) {
      const r = scanNumber(text, p);
      return this.end(r.kind, r.end);
    }
    if (c === 35) return this.privateName();
    if (isIdStart(c) || (c === 92 && isIdStart(escapedChar(text, p)))) return this.identifier(c);
    return this.punctuation(c);
  }

  private template(): number {
    const r = scanTemplate(this.text, this.pos);
    return this.end(r.kind, r.end);
  }

  private identifier(c: number): number {
    const from = c === 92 ? skipUnicodeEscape(this.text, this.pos) : this.pos + charSize(c);
    const end = skipIdentifierParts(this.text, from);
    return this.end(wordKind(this.text, this.pos, end), end);
  }

  /** `#name`; a `#` before anything else is a one-character private name (with an error), `#!` unknown. */
  private privateName(): number {
    const text = this.text;
    const p = this.pos;
    if (p !== 0 && text.charCodeAt(p + 1) === 33) return this.end(Kind.Unknown, p + 1);
    const c = text.codePointAt(p + 1) ?? -1;
    if (isIdStart(c) || (c === 92 && isIdStart(escapedChar(text, p + 1)))) {
      const from = c === 92 ? skipUnicodeEscape(text, p + 1) : p + 1 + charSize(c);
      return this.end(Kind.PrivateIdentifier, skipIdentifierParts(text, from));
    }
    return this.end(Kind.PrivateIdentifier, p + 1);
  }

  private punctuation(c: number): number {
    const text = this.text;
    const p = this.pos;
    if (c === 60 && this.jsx && text.charCodeAt(p + 1) === 47 && text.charCodeAt(p + 2) !== 42)
      return this.end(Kind.LessThanSlashToken, p + 2);
    if (c === 63 && text.charCodeAt(p + 1) === 46 && isDigit(text.charCodeAt(p + 2)))
      return this.end(Kind.QuestionToken, p + 1);
    const candidates = PUNCT_BY_CHAR[c] ?? [];
    // An index loop: no iterator or destructuring per token while the code is still cold.
    for (let i = 0; i < candidates.length; i++) {
      const cand = candidates[i] as readonly [string, number];
      if (text.startsWith(cand[0], p)) return this.end(cand[1], p + cand[0].length);
    }
    return this.end(Kind.Unknown, p + charSize(c));
  }

  /**
   * Every token of the text (setText) into `out`, in context (inContext): what a loop of scan() and
   * inContext gives, with ASCII names and one-character punctuation scanned here in one loop (a short
   * run is mostly cold code: one small loop is optimised early, a call per token later). Returns how many.
   */
  scanAll(out: TokenSpans): number {
    const text = this.text;
    const len = text.length;
    const nest: Nesting = { depth: 0, templates: [] };
    let p = text.startsWith("#!") ? skipToLineEnd(text, 2) : 0;
    let prev = -1;
    let n = 0;
    for (;;) {
      p = skipSpace(text, p);
      if (p >= len) break;
      const kind = this.tokenAt(p, prev, nest);
      if (n === out.kind.length) out.grow();
      out.kind[n] = kind;
      out.start[n] = p;
      out.end[n] = this.pos;
      n++;
      prev = kind;
      p = this.pos;
    }
    return n;
  }

  /** The token at `p` (not trivia) in context, after `prev` (-1: none); it ends at `this.pos`. */
  private tokenAt(p: number, prev: number, nest: Nesting): number {
    const text = this.text;
    const c = text.charCodeAt(p);
    this.start = p;
    if (c < 128 && ASCII_ID_START[c] === 1) {
      this.pos = identifierEnd(text, p + 1);
      this.kind = wordKind(text, p, this.pos);
      return this.kind;
    }
    const single = c < 128 ? (SINGLE_PUNCT[c] as number) : 0;
    this.pos = p;
    this.kind = single !== 0 ? this.end(single, p + 1) : this.token(text.codePointAt(p) as number);
    // Braces (template substitutions), `/` (a regular expression?) and template heads need context.
    if (single === 0 || single === Kind.OpenBraceToken || single === Kind.CloseBraceToken)
      this.kind = inContext(this, this.kind, prev, nest);
    return this.kind;
  }

  /** The `/` or `/=` just scanned as a regular expression literal (body and flags). */
  reScanSlashToken(): number {
    const body = regexBody(this.text, this.start);
    if (!body.closed) {
      this.pos = unterminatedRegexEnd(this.text, this.start + 1, body.end);
      this.kind = Kind.RegularExpressionLiteral;
      return this.kind;
    }
    let p = body.end + 1;
    while (p < this.text.length && isIdPart(this.text.codePointAt(p) as number))
      p += charSize(this.text.codePointAt(p) as number);
    this.kind = this.end(Kind.RegularExpressionLiteral, p);
    return this.kind;
  }

  /** The `}` just scanned as the continuation of a template (middle or tail). */
  reScanTemplateToken(_isTaggedTemplate: boolean): number {
    this.pos = this.start;
    this.kind = this.template();
    return this.kind;
  }
}
