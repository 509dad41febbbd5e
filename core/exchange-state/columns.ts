/**
 * A compact columnar encoding of many records of one shape (orders, fills) for the recovery snapshot:
 * one array per field instead of one object per record, so the keys are written once, not per record,
 * and low-cardinality strings (account, venue, symbol, side, status …) become small integers into a
 * dictionary. Values are primitives or one level of plain objects of primitives (`fee.currency`); an
 * absent field is `null` in its column (no record field is ever null). Decoding builds the records
 * back field by field without re-validating them: the snapshot store checks the bytes' digest first.
 *
 * Encoding yields to the event loop every `SLICE` records (`encodeColumns` is async), so writing a
 * snapshot of 100,000 orders never holds up an order being submitted for more than a slice.
 */
type Primitive = string | number | boolean;
type Value = Primitive | null;

export interface Columns {
  /** Number of records. */
  n: number;
  /** Field path → values: plain (`v`), or dictionary-coded (`d`: distinct values, `i`: their index or null). */
  cols: Record<string, { v: Value[] } | { d: Primitive[]; i: (number | null)[] }>;
}

const SLICE = 5_000;
/** A column with more distinct values than this is stored plain (ids, timestamps). */
const MAX_DICTIONARY = 4_096;

const pause = () => new Promise<void>((resolve) => setImmediate(resolve));

/** One column: dictionary-coded when it has few distinct values, else plain. */
function columnOf(values: Value[]): Columns["cols"][string] {
  const dict = new Map<Primitive, number>();
  for (const v of values) {
    if (v === null || dict.has(v)) continue;
    if (dict.size >= MAX_DICTIONARY) return { v: values };
    dict.set(v, dict.size);
  }
  return { d: [...dict.keys()], i: values.map((v) => (v === null ? null : (dict.get(v) as number))) };
}

type Paths = Map<string, [string, string | undefined]>;

/** Adds the field paths of one record not seen yet (one level of nesting: `parent.child`). */
function addPaths(row: Record<string, unknown>, seen: Paths): void {
  for (const key in row) {
    const value = row[key];
    if (typeof value !== "object" || value === null) {
      if (!seen.has(key)) seen.set(key, [key, undefined]);
      continue;
    }
    for (const sub in value) {
      const path = `${key}.${sub}`;
      if (!seen.has(path)) seen.set(path, [key, sub]);
    }
  }
}

/** Every field path of the records, in first-seen order. */
async function pathsOf(rows: readonly Record<string, unknown>[]): Promise<[string, string | undefined][]> {
  const seen: Paths = new Map();
  for (let k = 0; k < rows.length; k++) {
    addPaths(rows[k] as Record<string, unknown>, seen);
    if (k % SLICE === SLICE - 1) await pause();
  }
  return [...seen.values()];
}

export async function encodeColumns(records: Iterable<object>): Promise<Columns> {
  const rows = [...records] as Record<string, unknown>[];
  const cols: Columns["cols"] = {};
  for (const [key, sub] of await pathsOf(rows)) {
    const values =
      sub === undefined
        ? rows.map((r) => (r[key] ?? null) as Value)
        : rows.map((r) => ((r[key] as Record<string, unknown> | undefined)?.[sub] ?? null) as Value);
    cols[sub === undefined ? key : `${key}.${sub}`] = columnOf(values);
    await pause();
  }
  return { n: rows.length, cols };
}

/** JSON of a column set, one column at a time with a pause between (no long stall of the event loop). */
export async function stringifyColumns(columns: Columns): Promise<string> {
  const parts: string[] = [];
  for (const [path, col] of Object.entries(columns.cols)) {
    parts.push(`${JSON.stringify(path)}:${JSON.stringify(col)}`);
    await pause();
  }
  return `{"n":${columns.n},"cols":{${parts.join(",")}}}`;
}

/** The values of one column, or why it is malformed. */
function valuesOf(path: string, col: unknown, n: number): Value[] | string {
  const c = col as { v?: unknown; d?: unknown; i?: unknown };
  let values: Value[];
  if (Array.isArray(c.v)) values = c.v as Value[];
  else if (Array.isArray(c.d) && Array.isArray(c.i)) {
    const d = c.d as Primitive[];
    values = (c.i as (number | null)[]).map((at) => (at === null ? null : (d[at] ?? null)));
  } else return `column ${path} is neither plain nor dictionary-coded`;
  return values.length === n ? values : `column ${path} holds ${values.length} values for ${n} records`;
}

/** Sets one column's values on the records (absent values are left out). */
function assign(out: Record<string, unknown>[], path: string, values: readonly Value[]): void {
  const dot = path.indexOf(".");
  if (dot < 0) {
    for (let k = 0; k < out.length; k++)
      if (values[k] !== null) (out[k] as Record<string, unknown>)[path] = values[k];
    return;
  }
  const parent = path.slice(0, dot);
  const child = path.slice(dot + 1);
  for (let k = 0; k < out.length; k++) {
    if (values[k] === null) continue;
    const row = out[k] as Record<string, Record<string, Value>>;
    const inner = row[parent] ?? {};
    inner[child] = values[k] as Value;
    row[parent] = inner;
  }
}

/** The records back, or a reason the columns are malformed. */
export function decodeColumns<T>(columns: Columns): T[] | string {
  const { n } = columns;
  if (!Number.isInteger(n) || n < 0 || typeof columns.cols !== "object" || columns.cols === null) {
    return "not a column set";
  }
  const out: Record<string, unknown>[] = new Array(n);
  for (let k = 0; k < n; k++) out[k] = {};
  // Column by column: every record gets its fields in the same order (one object shape for V8).
  for (const [path, col] of Object.entries(columns.cols)) {
    const values = valuesOf(path, col, n);
    if (typeof values === "string") return values;
    assign(out, path, values);
  }
  return out as T[];
}
