import { z } from "zod";
import { clean } from "../domain/wire.ts";
import type { Tool } from "./tool.ts";

/**
 * The wire convention of every tool (issue 18.4): property names are snake_case on the way in and on
 * the way out. A tool whose zod schemas name their fields in camelCase (the domain's own types) is put
 * on the wire by {@link snakeTool}: from each schema, once, a twin whose object keys are snake_case
 * (same leaves, checks, descriptions and defaults) and the two key mappings between them, walked along
 * the schema (objects, arrays, tuples, optionals, defaults, unions, records' values; a record's keys
 * and an unknown value's contents are data and stay as they are). The handler still sees and returns
 * the camelCase shapes; a schema that has no camelCase key is left untouched (the order path keeps its
 * hand-written mappings of core/domain/wire.ts and pays nothing).
 */

type Schema = z.core.$ZodType;
type Convert = (v: unknown) => unknown;
type Def = z.core.$ZodTypeDef & Record<string, unknown>;

/** `maxDrawdownDurationMs` → `max_drawdown_duration_ms`; `toolP99S` → `tool_p99_s`. */
export const snakeKey = (k: string): string => k.replace(/(?<=[a-z0-9])([A-Z])/g, "_$1").toLowerCase();

/** `max_drawdown` → `maxDrawdown`: for a record whose keys name fields (a grid of strategy params). */
export const camelKey = (k: string): string => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A record with its keys renamed (its values untouched). */
export const renameKeys = <V>(o: Record<string, V>, f: (k: string) => string): Record<string, V> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [f(k), v]));

const same: Convert = (v) => v;
const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const defOf = (s: Schema): Def => s._zod.def as Def;

/** A schema's snake twin and the conversions both ways; `changed` is false when nothing is renamed. */
interface Twin {
  readonly wire: Schema;
  readonly toWire: Convert;
  readonly fromWire: Convert;
  readonly changed: boolean;
}

const unchanged = (s: Schema): Twin => ({ wire: s, toWire: same, fromWire: same, changed: false });

/** A copy of `s` with `def` changed, keeping its description (zod keeps metadata per instance). */
function rebuild(s: Schema, def: Record<string, unknown>): Schema {
  const d = { ...s._zod.def };
  Object.defineProperties(d, Object.getOwnPropertyDescriptors(def));
  const copy = new s._zod.constr(d) as Schema;
  const meta = z.globalRegistry.get(s);
  if (meta !== undefined) z.globalRegistry.add(copy, meta);
  return copy;
}

interface Field {
  readonly key: string;
  readonly snake: string;
  readonly twin: Twin;
}

/** An object's keys renamed by `lookup` (the field's `name`), each known field's value converted too. */
const renamed =
  (lookup: ReadonlyMap<string, Field>, side: "toWire" | "fromWire", name: "snake" | "key"): Convert =>
  (v) => {
    if (!isPlain(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const f = lookup.get(k);
      if (f === undefined) out[k] = x;
      else out[f[name]] = x === undefined ? x : f.twin[side](x);
    }
    return out;
  };

function objectTwin(s: Schema, def: Def): Twin {
  const shape = def.shape as Record<string, Schema>;
  const fields: Field[] = Object.entries(shape).map(([key, sub]) => ({
    key,
    snake: snakeKey(key),
    twin: twinOf(sub),
  }));
  if (!fields.some((f) => f.key !== f.snake || f.twin.changed)) return unchanged(s);
  // The object's own refinements (cross-field checks) are not copied: they read camelCase fields, and
  // the tool's camelCase schema runs them (input: after the wire twin; output: before it).
  const wire = rebuild(s, {
    shape: Object.fromEntries(fields.map((f) => [f.snake, f.twin.wire])),
    checks: [],
  });
  return {
    wire,
    toWire: renamed(new Map(fields.map((f) => [f.key, f])), "toWire", "snake"),
    fromWire: renamed(new Map(fields.map((f) => [f.snake, f])), "fromWire", "key"),
    changed: true,
  };
}

/** Wrappers with one inner schema: optional, nullable, default, readonly, catch, … */
function innerTwin(s: Schema, def: Def): Twin {
  const inner = twinOf(def.innerType as Schema);
  if (!inner.changed) return unchanged(s);
  const lift =
    (f: Convert): Convert =>
    (v) =>
      v === undefined || v === null ? v : f(v);
  const extra: Record<string, unknown> = { innerType: inner.wire };
  if ("defaultValue" in def)
    Object.defineProperty(extra, "defaultValue", {
      get: () => inner.toWire(def.defaultValue),
      enumerable: true,
    });
  return {
    wire: rebuild(s, extra),
    toWire: lift(inner.toWire),
    fromWire: lift(inner.fromWire),
    changed: true,
  };
}

function unionTwin(s: Schema, def: Def): Twin {
  const options = (def.options as Schema[]).map((o) => ({ schema: o, twin: twinOf(o) }));
  if (!options.some((o) => o.twin.changed)) return unchanged(s);
  const disc = typeof def.discriminator === "string" ? def.discriminator : undefined;
  /** A discriminated union's option by its discriminator's value (zod's own index of the literals). */
  const byDiscriminator = (side: "toWire" | "fromWire", v: unknown) => {
    if (disc === undefined || !isPlain(v)) return undefined;
    const value = v[side === "toWire" ? disc : snakeKey(disc)];
    return options.find((x) =>
      (x.schema._zod as { propValues?: Record<string, Set<unknown>> }).propValues?.[disc]?.has(value),
    );
  };
  /** The option the value is of (its discriminator, else the first that takes it), or the value as it is. */
  const pick =
    (side: "toWire" | "fromWire"): Convert =>
    (v) => {
      const o =
        byDiscriminator(side, v) ??
        options.find((x) => z.safeParse(side === "toWire" ? x.schema : x.twin.wire, v).success);
      return o === undefined ? v : o.twin[side](v);
    };
  const wire = rebuild(s, { options: options.map((o) => o.twin.wire) });
  return { wire, toWire: pick("toWire"), fromWire: pick("fromWire"), changed: true };
}

function arrayTwin(s: Schema, def: Def): Twin {
  const el = twinOf(def.element as Schema);
  if (!el.changed) return unchanged(s);
  const each =
    (f: Convert): Convert =>
    (v) =>
      Array.isArray(v) ? v.map(f) : v;
  return {
    wire: rebuild(s, { element: el.wire }),
    toWire: each(el.toWire),
    fromWire: each(el.fromWire),
    changed: true,
  };
}

function recordTwin(s: Schema, def: Def): Twin {
  const value = twinOf(def.valueType as Schema);
  if (!value.changed) return unchanged(s);
  const values =
    (f: Convert): Convert =>
    (v) =>
      isPlain(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, f(x)])) : v;
  return {
    wire: rebuild(s, { valueType: value.wire }),
    toWire: values(value.toWire),
    fromWire: values(value.fromWire),
    changed: true,
  };
}

function tupleTwin(s: Schema, def: Def): Twin {
  const items = (def.items as Schema[]).map(twinOf);
  const rest = def.rest === null || def.rest === undefined ? undefined : twinOf(def.rest as Schema);
  if (!items.some((i) => i.changed) && rest?.changed !== true) return unchanged(s);
  const each =
    (side: "toWire" | "fromWire"): Convert =>
    (v) =>
      Array.isArray(v) ? v.map((x, i) => (items[i] ?? rest)?.[side](x) ?? x) : v;
  const wire = rebuild(s, { items: items.map((i) => i.wire), rest: rest?.wire ?? null });
  return { wire, toWire: each("toWire"), fromWire: each("fromWire"), changed: true };
}

const WRAPPERS = ["optional", "nullable", "default", "prefault", "readonly", "catch", "nonoptional"];
/** The twin of each kind of schema that can hold an object; any other kind is a leaf, unchanged. */
const BY_TYPE: Record<string, (s: Schema, def: Def) => Twin> = {
  object: objectTwin,
  union: unionTwin,
  array: arrayTwin,
  record: recordTwin,
  tuple: tupleTwin,
  // A pipe (a transform, z.preprocess) is sent as its input side is.
  pipe: (_s, def) => twinOf(def.in as Schema),
  ...Object.fromEntries(WRAPPERS.map((w) => [w, innerTwin])),
};
const twins = new WeakMap<Schema, Twin>();

/** The snake twin of any schema (computed once per schema instance). */
function twinOf(s: Schema): Twin {
  const known = twins.get(s);
  if (known !== undefined) return known;
  const def = defOf(s);
  const twin = (BY_TYPE[def.type] ?? unchanged)(s, def);
  twins.set(s, twin);
  return twin;
}

/** A zod issue's path with its field names on the wire. */
const wirePath = (path: readonly PropertyKey[]) =>
  path.map((p) => (typeof p === "string" ? snakeKey(p) : p)) as (string | number)[];

/**
 * Reads a snake_case value into `schema`'s camelCase shape: the snake twin, then `schema` itself (its
 * refinements, transforms), issues named as the wire names them. A tool's input; a client's answer.
 */
export function fromSnake<S extends z.ZodType>(schema: S): z.ZodType<z.output<S>, unknown> {
  const twin = twinOf(schema);
  if (!twin.changed) return schema as never;
  return (twin.wire as z.ZodType).transform((v, ctx) => {
    const r = schema.safeParse(twin.fromWire(v));
    if (r.success) return r.data;
    for (const issue of r.error.issues) ctx.addIssue({ ...issue, path: wirePath(issue.path) } as never);
    return z.NEVER;
  });
}

/**
 * Every fractional number of an answer without binary noise (12 significant digits, as core/domain/
 * wire.ts shows derived values: `0.1 + 0.2` answers 0.3). Integers (counts, ids, epoch milliseconds)
 * are left exactly as they are. These agents' answers are reports (backtests, strategy books, code
 * metrics), never executions: the exchange's fills are answered exactly, through wire.ts.
 */
function denoise(v: unknown): unknown {
  if (typeof v === "number") return Number.isInteger(v) ? v : clean(v);
  if (Array.isArray(v)) return v.map(denoise);
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = denoise(x);
    return out;
  }
  return v;
}

/** The schema a tool answers with: the camelCase schema, then the snake twin, fractions denoised. */
export function intoSnake<S extends z.ZodType>(schema: S): z.ZodType<unknown, z.input<S>> {
  const twin = twinOf(schema);
  if (!twin.changed) return schema as never;
  return schema.transform((v) => denoise(twin.toWire(v))).pipe(twin.wire as z.ZodType) as never;
}

/** The value a schema accepts, with its keys as the wire names them (a caller's view of an answer). */
export const toSnake = (schema: z.ZodType, value: unknown): unknown => twinOf(schema).toWire(value);

/** A tool on the wire convention: same name, description and handler; snake_case input and output. */
export function snakeTool(tool: Tool): Tool {
  return { ...tool, input: fromSnake(tool.input), output: intoSnake(tool.output) };
}
