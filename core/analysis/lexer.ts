import { KEYWORDS, Kind, PUNCTUATION } from "./lexer-kinds.ts";

/**
 * A TypeScript/JavaScript tokenizer without typescript.js (whose load is most of a short analysis
 * run): the same tokens, kinds and offsets as `ts.createScanner(Latest, skipTrivia = true)` for what the
 * duplicate finder asks of it (scan, plus the re-scans of `/` as a regular expression and of `}` as a
 * template continuation). Comments, whitespace and a leading `#!` line are trivia. JSX text is not
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

/** Keywords (all lowercase ASCII) by first letter (0 = `a`) and length: candidates compared in place. */
const KEYWORD_BY_START: (readonly (readonly [string, number])[] | undefined)[] = [];
for (const kw of KEYWORDS) {
  const slot = (kw[0].charCodeAt(0) - 97) * 16 + kw[0].length;
  KEYWORD_BY_START[slot] = [...(KEYWORD_BY_START[slot] ?? []), kw];
}

/** The keyword kind of the word [start, end) of `text`, or undefined (no substring is made). */
function keywordAt(text: string, start: number, end: number): number | undefined {
  const len = end - start;
  const first = text.charCodeAt(start);
  if (len < 2 || len > 12 || first < 97 || first > 122) return undefined;
  const candidates = KEYWORD_BY_START[(first - 97) * 16 + len];
  if (candidates === undefined) return undefined;
  for (let i = 0; i < candidates.length; i++) {
    const cand = candidates[i] as readonly [string, number];
    if (text.startsWith(cand[0], start)) return cand[1];
  }
  return undefined;
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

function skipToLineEnd(text: string, pos: number): number {
  let p = pos;
  while (p < text.length && !isLineBreak(text.charCodeAt(p))) p++;
  return p;
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
    return this.kind === Kind.StringLiteral ? cook(this.text.slice(this.start + 1, this.closedEnd())) : "";
  }

  /** End of a string literal's body: before its closing quote when it has one. */
  private closedEnd(): number {
    const q = this.text.charCodeAt(this.start);
    const last = this.pos - 1;
    return last > this.start && this.text.charCodeAt(last) === q ? last : this.pos;
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
    return this.end(keywordAt(this.text, this.pos, end) ?? Kind.Identifier, end);
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
