import { createRandom } from "../../core/math/random.ts";

/**
 * A small, deterministic, schema-driven input generator for tool contracts, in the spirit of
 * Schemathesis's defaults: from a tool's input JSON Schema (as `z.toJSONSchema` writes it) it builds
 * valid arguments and, per field, boundary and type-confusion mutations — 1e-320, 1e308, -1e308,
 * unicode and over-long strings, deep nesting, missing required fields, unknown fields. Whether a
 * generated input is valid is not decided here: the checker classifies every input with the schema
 * itself (`z.fromJSONSchema`), so the generator only has to propose.
 *
 * Pure and seeded: the same schema and seed give the same cases in the same order.
 */

export type JsonSchema = Record<string, unknown>;

/** One proposed input: the arguments as JSON text (deep cases are built as text, never serialised). */
export interface GeneratedCase {
  /** What the case probes, e.g. `valid`, `boundary:amount=1e308`, `missing:symbol`, `unknown-field`. */
  readonly label: string;
  /** The arguments as JSON text. */
  readonly json: string;
  /** The top-level field the case mutates, if any (the field a refusal must name). */
  readonly field?: string;
  /** The case's kind: valid baselines, mutations of one field, unknown fields, deep nesting, the whole args. */
  readonly kind: "valid" | "field" | "unknown" | "deep" | "args";
}

/** Strings tried, in order, for a string with a pattern (the first one the pattern accepts wins). */
const STRING_POOL = [
  "BTC/USDT",
  "ETH/USDT",
  "paper",
  "binance",
  "default",
  "validation",
  "abc",
  "run-1",
  "v1",
  "2026-01-01T00:00:00Z",
  "2026-01-01T00:00:00.000Z",
  "00000000-0000-4000-8000-000000000000",
  "a",
  "1",
  "x1",
];

/** Values no schema-sized number means: the 1e-320, ±1e308, and their neighbours. */
export const EXTREME_NUMBERS = [1e-320, 1e308, -1e308, -1, 0, 0.5, 1e-9, 2 ** 53] as const;
/** Strings that break naive handling: unicode, control characters, emoji, SQL/regex/metacharacters. */
export const NASTY_STRINGS = [
  "ünïcødé-✓-🚀",
  "\u0000\u001f",
  "",
  " ",
  "../../etc/passwd",
  "a".repeat(5000),
  ".*>",
];

const isObj = (v: unknown): v is JsonSchema => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

/** Resolves a local `$ref` (`#/$defs/...` or `#/definitions/...`) against the root schema. */
function deref(schema: JsonSchema, root: JsonSchema): JsonSchema {
  const ref = schema.$ref;
  if (typeof ref !== "string" || !ref.startsWith("#/")) return schema;
  let at: unknown = root;
  for (const part of ref.slice(2).split("/")) at = isObj(at) ? at[part] : undefined;
  return isObj(at) ? at : {};
}

function typeOf(schema: JsonSchema): string | undefined {
  const t = schema.type;
  if (typeof t === "string") return t;
  if (Array.isArray(t)) return t.find((x) => x !== "null") as string | undefined;
  if (isObj(schema.properties)) return "object";
  if (schema.items !== undefined) return "array";
  return undefined;
}

/** A value that satisfies `schema` where a plain generator can (cross-field refinements aside). */
export function validValue(schema: JsonSchema, root: JsonSchema, random: () => number, depth = 0): unknown {
  const s = deref(schema, root);
  if ("const" in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[Math.floor(random() * s.enum.length)];
  if (depth > 12) return null;
  const branches = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(branches) && branches.length > 0) {
    // The first branch is usually the plain form (a number before its array form, a time in ms…).
    const pick = random() < 0.7 ? 0 : Math.floor(random() * branches.length);
    return validValue(branches[pick] as JsonSchema, root, random, depth + 1);
  }
  if (Array.isArray(s.allOf) && s.allOf.length > 0) {
    return validValue(Object.assign({}, ...(s.allOf as JsonSchema[])), root, random, depth + 1);
  }
  switch (typeOf(s)) {
    case "object":
      return validObject(s, root, random, depth, random() < 0.5);
    case "array": {
      const min = num(s.minItems) ?? 0;
      const max = num(s.maxItems) ?? min + 3;
      const n = Math.min(max, min + Math.floor(random() * 3));
      const items = isObj(s.items) ? s.items : {};
      if (Array.isArray(s.prefixItems)) {
        return (s.prefixItems as JsonSchema[]).map((p) => validValue(p, root, random, depth + 1));
      }
      return Array.from({ length: n }, () => validValue(items, root, random, depth + 1));
    }
    case "string":
      return validString(s, random);
    case "integer":
    case "number":
      return validNumber(s, random, typeOf(s) === "integer");
    case "boolean":
      return random() < 0.5;
    case "null":
      return null;
    default:
      return "x";
  }
}

function validObject(
  s: JsonSchema,
  root: JsonSchema,
  random: () => number,
  depth: number,
  withOptional: boolean,
): Record<string, unknown> {
  const props = isObj(s.properties) ? s.properties : {};
  const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(props)) {
    if (!required.has(k) && !withOptional) continue;
    // An optional field with a default is left to its default half the time.
    if (!required.has(k) && isObj(p) && "default" in p && random() < 0.5) continue;
    out[k] = validValue(p as JsonSchema, root, random, depth + 1);
  }
  return out;
}

function validString(s: JsonSchema, random: () => number): string {
  const min = num(s.minLength) ?? 0;
  const max = num(s.maxLength) ?? Math.max(min, 16);
  const fits = (x: string) =>
    x.length >= min &&
    x.length <= max &&
    (typeof s.pattern !== "string" || new RegExp(s.pattern, "u").test(x));
  if (s.format === "date-time")
    return new Date(Date.UTC(2026, 0, 1 + Math.floor(random() * 28))).toISOString();
  const pool =
    typeof s.pattern === "string" ? STRING_POOL : [...STRING_POOL.slice(6), ...STRING_POOL.slice(0, 6)];
  const hit = pool.find(fits);
  if (hit !== undefined) return hit;
  const plain = "a".repeat(Math.max(1, min));
  return fits(plain) ? plain : (STRING_POOL[0] as string);
}

function validNumber(s: JsonSchema, random: () => number, integer: boolean): number {
  const lo =
    num(s.minimum) ??
    (num(s.exclusiveMinimum) !== undefined
      ? (num(s.exclusiveMinimum) as number) + (integer ? 1 : 1e-6)
      : undefined);
  const hi =
    num(s.maximum) ??
    (num(s.exclusiveMaximum) !== undefined
      ? (num(s.exclusiveMaximum) as number) - (integer ? 1 : 1e-6)
      : undefined);
  // Small, ordinary values: heavy tools stay cheap with valid inputs near their lower bound.
  const from = lo ?? (hi !== undefined ? Math.min(0, hi) - 1 : 0);
  const to = hi ?? from + 10;
  const span = Math.min(to - from, integer ? 20 : 2);
  const v = from + random() * Math.max(0, span);
  return integer ? Math.min(to, Math.ceil(v)) : Math.min(to, Math.round(v * 1e6) / 1e6 || from);
}

/** JSON text of a value; the deep placeholder is replaced by `depth` nested arrays (never recursed). */
const DEEP = "\u0000deep\u0000";
function jsonWithDeep(value: unknown, depth: number): string {
  return JSON.stringify(value).replace(JSON.stringify(DEEP), `${"[".repeat(depth)}${"]".repeat(depth)}`);
}

/** Mutations of one field of a given schema: boundaries, extremes, type confusion. */
function fieldMutations(s: JsonSchema): unknown[] {
  const out: unknown[] = [];
  const t = typeOf(s);
  if (t === "number" || t === "integer") {
    out.push(...EXTREME_NUMBERS);
    for (const b of [s.minimum, s.maximum, s.exclusiveMinimum, s.exclusiveMaximum]) {
      if (typeof b === "number") out.push(b, b - 1, b + 1);
    }
    if (t === "integer") out.push(1.5);
    out.push("1", null, true);
  } else if (t === "string") {
    out.push(...NASTY_STRINGS, 1, null);
    if (typeof s.maxLength === "number") out.push("b".repeat(s.maxLength + 1));
  } else if (t === "array") {
    out.push([], "x", {}, [null]);
  } else if (t === "object") {
    out.push([], "x", null, { ünknown: 1 });
  } else if (t === "boolean") {
    out.push("true", 1, null);
  } else {
    out.push(null, 1e308, "ünïcødé");
  }
  return out;
}

export interface GenerateOptions {
  seed: number;
  /** Most cases returned (the baselines first, then mutations spread across fields). */
  max: number;
  /** Values fixed in every case (the validation account and venue of state-changing tools). */
  pinned?: Readonly<Record<string, unknown>>;
  /** Nesting depth of the deep case (above the servers' limit). */
  deepDepth?: number;
}

/**
 * The cases for one tool: a few valid baselines, then for every top-level field its mutations,
 * a missing-required case per required field, unknown fields (one a plausible camelCase typo), deep
 * nesting, and arguments that are not an object. Mutation cases are interleaved field by field and
 * cut at `max`, so every field is probed before any field is probed twice.
 */
export function generateCases(schema: JsonSchema, options: GenerateOptions): GeneratedCase[] {
  const random = createRandom(options.seed).uniform;
  const pinned = options.pinned ?? {};
  const props = isObj(schema.properties) ? (schema.properties as Record<string, JsonSchema>) : {};
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  const pin = (o: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(pinned)) if (k in props) o[k] = v;
    return o;
  };
  const base = () => pin(validObject(schema, schema, random, 0, random() < 0.6));
  const baselines: GeneratedCase[] = [];
  const seen = new Set<string>();
  const full = pin(validObject(schema, schema, random, 0, true));
  const minimal = pin(validObject(schema, schema, random, 0, false));
  for (const v of [minimal, full, base(), base()]) {
    const json = JSON.stringify(v);
    if (seen.has(json)) continue;
    seen.add(json);
    baselines.push({ label: "valid", json, kind: "valid" });
  }
  const perField: GeneratedCase[][] = [];
  for (const [k, p] of Object.entries(props)) {
    if (k in pinned) continue;
    const list: GeneratedCase[] = [];
    for (const m of fieldMutations(deref(p, schema))) {
      const args = { ...full, [k]: m };
      list.push({ label: `${k}=${short(m)}`, json: JSON.stringify(args), field: k, kind: "field" });
    }
    list.push({
      label: `${k}=deep`,
      json: jsonWithDeep({ ...full, [k]: DEEP }, options.deepDepth ?? 1000),
      field: k,
      kind: "deep",
    });
    // Shuffle each field's list (seeded) so the cut at `max` keeps a spread of kinds; a missing
    // required field and the extremes (1e-320, ±1e308) stay first, so every field gets them
    // before anything else.
    let keep = typeOf(deref(p, schema)) === "number" || typeOf(deref(p, schema)) === "integer" ? 3 : 0;
    if (required.includes(k)) {
      const { [k]: _gone, ...rest } = full;
      list.unshift({ label: `missing:${k}`, json: JSON.stringify(rest), field: k, kind: "field" });
      keep++;
    }
    for (let i = list.length - 1; i > keep; i--) {
      const j = keep + Math.floor(random() * (i + 1 - keep));
      [list[i], list[j]] = [list[j] as GeneratedCase, list[i] as GeneratedCase];
    }
    perField.push(list);
  }
  const typo = camelTypo(Object.keys(props));
  const extras: GeneratedCase[] = [
    {
      label: "unknown-field",
      json: JSON.stringify({ ...full, __unknown_field: 1 }),
      field: "__unknown_field",
      kind: "unknown",
    },
    ...(typo === undefined
      ? []
      : [
          {
            label: `unknown-field:${typo.wrong}`,
            json: JSON.stringify({ ...full, [typo.wrong]: full[typo.right] ?? "x" }),
            field: typo.wrong,
            kind: "unknown" as const,
          },
        ]),
    {
      label: "args=deep",
      json: jsonWithDeep({ ünïcødé: DEEP }, options.deepDepth ?? 1000),
      field: "ünïcødé",
      kind: "deep",
    },
    { label: "args=array", json: "[]", kind: "args" },
    { label: "args=string", json: '"ünïcødé"', kind: "args" },
  ];
  const mutations: GeneratedCase[] = [...extras.slice(0, 2)];
  for (let round = 0; perField.some((l) => l.length > round); round++) {
    for (const l of perField) if (round < l.length) mutations.push(l[round] as GeneratedCase);
  }
  mutations.push(...extras.slice(2));
  return [...baselines, ...mutations].slice(0, Math.max(options.max, baselines.length));
}

/** A camelCase spelling of a snake_case field (`client_order_id` → `clientOrderId`), the typo the issue saw. */
function camelTypo(keys: readonly string[]): { wrong: string; right: string } | undefined {
  const snake = keys.find((k) => k.includes("_"));
  if (snake === undefined) return undefined;
  return { wrong: snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()), right: snake };
}

function short(v: unknown): string {
  const s =
    typeof v === "string"
      ? JSON.stringify(v.length > 12 ? `${v.slice(0, 12)}…(${v.length})` : v)
      : JSON.stringify(v);
  return s ?? String(v);
}
