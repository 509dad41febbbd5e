/**
 * Rows as the text of their fields, decoded from the two text forms the ledger reads pages in:
 * COPY's text format (PGlite, `COPY (…) TO '/dev/blob'`) and PostgreSQL's record text (`x::text`
 * of a row, aggregated one a line). Both give each row as an array of the fields' text, null for
 * SQL NULL, in the select's column order; the caller turns the text into typed values (a store
 * knows its columns). A decoder does no per-field conversion the row does not need: a page of
 * 1 000 rows × 23 columns is decoded in a few `split`s.
 */
export type TextRow = (string | null)[];

const COPY_UNESCAPES: Record<string, string> = { b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" };

/** One COPY text-format field back to its text (the escapes COPY … TO writes); `\N` is null. */
function uncopyField(f: string): string | null {
  if (f === "\\N") return null;
  if (!f.includes("\\")) return f;
  return f.replace(/\\(.)/g, (_, c: string) => COPY_UNESCAPES[c] ?? c);
}

/**
 * Rows from COPY's text format (a line per row, fields separated by tabs; a tab, newline or
 * backslash inside a field is escaped, so a raw one always separates). `columns` is the count each
 * row must have.
 */
export function copyTextRows(text: string, columns: number): TextRow[] {
  const out: TextRow[] = [];
  const lines = text.split("\n");
  // COPY ends every row with a newline: the last piece is empty.
  const n = lines.length - (lines[lines.length - 1] === "" ? 1 : 0);
  for (let i = 0; i < n; i++) {
    const line = lines[i] as string;
    const fields: TextRow = line.split("\t");
    if (fields.length !== columns)
      throw new TextRowError(`COPY row has ${fields.length} fields, not ${columns}`);
    if (line.includes("\\")) for (let j = 0; j < columns; j++) fields[j] = uncopyField(fields[j] as string);
    out.push(fields);
  }
  return out;
}

/** A row whose text does not have the form or the field count expected. */
export class TextRowError extends Error {
  override name = "TextRowError";
}

const QUOTE = 34;
const BACKSLASH = 92;

/**
 * The quoted field starting at `r[i]` (a quote), up to `end` (the closing parenthesis): its text
 * (`""` and `\\` stand for a quote and a backslash) and the index after its closing quote.
 */
function quotedField(r: string, i: number, end: number): [text: string, next: number] {
  let s = "";
  let j = i + 1;
  for (;;) {
    if (j >= end) throw new TextRowError("record text: unterminated quoted field");
    const c = r.charCodeAt(j);
    if (c === BACKSLASH || (c === QUOTE && r.charCodeAt(j + 1) === QUOTE)) {
      s += r[j + 1];
      j += 2;
    } else if (c === QUOTE) {
      return [s, j + 1];
    } else {
      const from = j;
      while (j < end && r.charCodeAt(j) !== QUOTE && r.charCodeAt(j) !== BACKSLASH) j++;
      s += r.slice(from, j);
    }
  }
}

/**
 * The fields of one record text with quotes (`(a,"b c",,"")`): a quoted field may hold commas,
 * parentheses, spaces and newlines; an empty unquoted field is NULL, `""` the empty text.
 */
function quotedRecordFields(r: string): TextRow {
  const out: TextRow = [];
  const end = r.length - 1; // the closing parenthesis
  let i = 1;
  for (;;) {
    if (r.charCodeAt(i) === QUOTE) {
      const [text, next] = quotedField(r, i, end);
      out.push(text);
      i = next;
    } else {
      let j = r.indexOf(",", i);
      if (j < 0 || j > end) j = end;
      out.push(j === i ? null : r.slice(i, j));
      i = j;
    }
    if (i >= end) return out;
    i++; // the comma
  }
}

/** The fields of one record text: a row without quotes is split at its commas. */
function recordFields(r: string): TextRow {
  if (r.includes('"')) return quotedRecordFields(r);
  const fields: TextRow = r.slice(1, -1).split(",");
  for (let i = 0; i < fields.length; i++) if (fields[i] === "") fields[i] = null;
  return fields;
}

/** An odd count of quotes: the line ends inside a quoted field (a newline of the field's text). */
function insideQuotes(line: string): boolean {
  let n = 0;
  for (let i = line.indexOf('"'); i >= 0; i = line.indexOf('"', i + 1)) n++;
  return n % 2 === 1;
}

/**
 * Rows from record texts joined by newlines (`string_agg(x::text, E'\n')`). A newline inside a
 * quoted field is part of the field: every quote of a record text comes in pairs (the field's
 * own quotes and each doubled one), so a line with an odd count continues on the next.
 */
export function recordTextRows(text: string, columns: number): TextRow[] {
  const out: TextRow[] = [];
  if (text.length === 0) return out;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] as string;
    if (line.includes('"')) {
      while (insideQuotes(line) && i + 1 < lines.length) line += `\n${lines[++i] as string}`;
    }
    if (line.charCodeAt(0) !== 40 || line.charCodeAt(line.length - 1) !== 41)
      throw new TextRowError("record text: not a parenthesised row");
    const fields = recordFields(line);
    if (fields.length !== columns)
      throw new TextRowError(`record text has ${fields.length} fields, not ${columns}`);
    out.push(fields);
  }
  return out;
}
