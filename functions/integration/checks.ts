import { z } from "zod";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import type { GeneratedCase, JsonSchema } from "./generate.ts";
import type { Issue, Outcome } from "./transports.ts";

/**
 * The contract checks, pure: given what a case is (valid by the tool's own input schema, or not) and
 * what a transport answered, the failures. Schemathesis's defaults, translated to tools:
 *   not_a_server_error      no input gets -32603, a timeout, "unavailable", an HTTP 5xx or a non-answer;
 *   valid_input_accepted    an input the schema accepts gets a result (or a domain refusal, -32003);
 *   invalid_input_refused   an input the schema refuses gets -32602 / HTTP 400 naming the field;
 *   output_conforms         every result conforms to the tool's output schema;
 *   transports_agree        a read tool answers alike over HTTP, JSON-RPC, NATS and MCP.
 */

export type CheckName =
  | "not_a_server_error"
  | "valid_input_accepted"
  | "invalid_input_refused"
  | "output_conforms"
  | "transports_agree"
  | "unknown_fields_refused"
  | "manifest_tools_match";

export interface Failure {
  agent: string;
  tool: string;
  check: CheckName;
  /** The case label (`amount=1e308`, `valid`, …). */
  label: string;
  transport?: string;
  /** The input, cut to 300 characters. */
  input?: string;
  detail: string;
}

/** What the schema says of a case: valid, or invalid with the fields its issues name. */
export type Verdict = { valid: true } | { valid: false; fields: string[] };

const schemas = new WeakMap<JsonSchema, z.ZodType>();
/** The zod form of a JSON Schema (cached per schema object). */
export function zodOf(schema: JsonSchema): z.ZodType {
  let s = schemas.get(schema);
  if (s === undefined) {
    s = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
    schemas.set(schema, s);
  }
  return s;
}

/** Classifies a case with the tool's input schema. Deep cases are invalid by the servers' depth limit. */
export function classify(schema: JsonSchema, c: GeneratedCase): Verdict {
  if (c.kind === "deep") return { valid: false, fields: [c.field ?? ""] };
  const parsed = zodOf(schema).safeParse(JSON.parse(c.json));
  if (parsed.success) return { valid: true };
  const fields = new Set<string>();
  for (const i of parsed.error.issues) {
    if (i.path.length > 0) fields.add(String(i.path[0]));
    if (i.code === "unrecognized_keys") for (const k of i.keys) fields.add(k);
  }
  if (c.field !== undefined) fields.add(c.field);
  return { valid: false, fields: [...fields] };
}

/** Zod issue codes that mean "the input does not have the schema's shape" (not a domain rule). */
const STRUCTURAL = new Set([
  "invalid_type",
  "too_big",
  "too_small",
  "invalid_value",
  "invalid_format",
  "invalid_union",
  "unrecognized_keys",
  "not_multiple_of",
  "invalid_key",
  "invalid_element",
]);

const SERVER_CODES = new Set<number>([RpcCode.InternalError, RpcCode.Timeout, RpcCode.AgentUnavailable]);

function names(issues: readonly Issue[], message: string, fields: readonly string[]): boolean {
  if (fields.length === 0 || fields.includes("")) return true;
  return fields.some(
    (f) => issues.some((i) => i.path.split(".")[0] === f || i.message.includes(f)) || message.includes(f),
  );
}

/** The failures of one answer to one case. */
export function judge(
  verdict: Verdict,
  outcome: Outcome,
  output: JsonSchema,
  at: Omit<Failure, "check" | "detail" | "transport">,
): Failure[] {
  const fail = (check: CheckName, detail: string): Failure[] => [
    { ...at, check, transport: outcome.transport, detail },
  ];
  if (outcome.kind === "broken") return fail("not_a_server_error", outcome.message);
  if (outcome.kind === "error" && SERVER_CODES.has(outcome.code)) {
    return fail("not_a_server_error", `error ${outcome.code}: ${outcome.message}`);
  }
  if (verdict.valid) {
    if (outcome.kind === "result") return conforms(output, outcome.value, fail);
    // A domain answer: refused by the domain (limits, state) or not found (an unknown name).
    if (outcome.code === RpcCode.Rejected || outcome.code === RpcCode.MethodNotFound) return [];
    // A rule JSON Schema cannot express (from ≤ to, high ≥ low, tick sizes) refuses a schema-valid
    // input: its issues are refinements or the handler's own, never a structural zod issue.
    if (
      outcome.code === RpcCode.InvalidParams &&
      outcome.issues.every((i) => !STRUCTURAL.has(i.code ?? ""))
    ) {
      return [];
    }
    return fail(
      "valid_input_accepted",
      `error ${outcome.code}: ${outcome.message} ${JSON.stringify(outcome.issues).slice(0, 300)}`,
    );
  }
  if (outcome.kind === "result") {
    return fail(
      "invalid_input_refused",
      `accepted an input its schema refuses (${verdict.fields.join(", ")})`,
    );
  }
  if (!names(outcome.issues, outcome.message, verdict.fields)) {
    return fail(
      "invalid_input_refused",
      `refused without naming ${verdict.fields.join(" or ")}: error ${outcome.code}: ${outcome.message.slice(0, 200)}`,
    );
  }
  return [];
}

function conforms(
  output: JsonSchema,
  value: unknown,
  fail: (c: CheckName, d: string) => Failure[],
): Failure[] {
  const parsed = zodOf(output).safeParse(value);
  if (parsed.success) return [];
  const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".")}: ${i.message}`);
  return fail("output_conforms", issues.join("; "));
}

/** The shape of a JSON value: types in place of values; an empty array matches any array. */
export function shapeOf(v: unknown): unknown {
  if (v === null) return "null";
  if (Array.isArray(v)) return v.length === 0 ? ["*"] : [shapeOf(v[0])];
  if (typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v as object)
        .sort()
        .map((k) => [k, shapeOf((v as Record<string, unknown>)[k])]),
    );
  }
  return typeof v;
}

/**
 * Whether two shapes agree. Both answers already conform to the tool's output schema, so what the
 * schema lets vary over time is not a disagreement: a null, or a key one answer has and the other
 * lacks (an optional field, e.g. an agent's `url` while it has no live instance). Keys both have must
 * agree, and two non-empty objects must share one.
 */
function sameShape(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a[0] === "*" || b[0] === "*") return true;
    return sameShape(a[0], b[0]);
  }
  if (a === "null" || b === "null") return true;
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    const shared = Object.keys(ra).filter((k) => k in rb);
    if (shared.length === 0 && Object.keys(ra).length + Object.keys(rb).length > 0) return false;
    return shared.every((k) => sameShape(ra[k], rb[k]));
  }
  return a === b;
}

/** Canonical JSON (sorted keys) for equality. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(
          Object.entries(x as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : x,
  );
}

/**
 * "The same answer" over every transport. When the reference transport answers the same input
 * twice identically the tool is deterministic for it, and every transport must answer exactly that;
 * otherwise (prices, clocks, fresh ids) every transport must answer the same kind of outcome with the
 * same shape: the same keys and types all the way down, or the same error code.
 */
export function agreement(
  first: Outcome,
  again: readonly Outcome[],
  others: readonly Outcome[],
): string | undefined {
  const deterministic = again.every((x) => canonical(strip(first)) === canonical(strip(x)));
  for (const o of others) {
    if (o.kind !== first.kind)
      return `${first.transport} answered ${describe(first)} but ${o.transport} ${describe(o)}`;
    if (o.kind === "error" && first.kind === "error") {
      if (o.code !== first.code)
        return `${first.transport} error ${first.code} but ${o.transport} error ${o.code}`;
      continue;
    }
    if (o.kind === "result" && first.kind === "result") {
      if (deterministic && canonical(o.value) !== canonical(first.value)) {
        return `${o.transport} answered differently from ${first.transport} (deterministic answer): ${canonical(o.value).slice(0, 160)} vs ${canonical(first.value).slice(0, 160)}`;
      }
      if (!deterministic && !sameShape(shapeOf(o.value), shapeOf(first.value))) {
        return `${o.transport} answered a different shape from ${first.transport}`;
      }
    }
  }
  return undefined;
}

const strip = (o: Outcome) => (o.kind === "result" ? o.value : o.kind === "error" ? o.code : o.message);
const describe = (o: Outcome) =>
  o.kind === "result" ? "a result" : o.kind === "error" ? `error ${o.code}` : `nothing (${o.message})`;
