import { RpcCode } from "../protocol/jsonrpc.ts";
import { ToolError } from "./errors.ts";

/**
 * The deepest nesting of arrays and objects accepted in a tool's arguments. No tool's schema goes
 * beyond a handful of levels; the limit stops a deeply nested body (a few hundred kilobytes of `[`)
 * from overflowing the stack of a recursive serialiser or validator further down the path.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * The path (up to the first two keys) to the first value nested deeper than `max`, or undefined
 * when the value is within the limit. It recurses at most `max` levels (the limit is what it checks,
 * so a deep value cannot overflow its stack), and allocates nothing unless the value is too deep.
 */
export function tooDeep(value: unknown, max = MAX_JSON_DEPTH): (string | number)[] | undefined {
  return deepest(value, 0, max)?.reverse().slice(0, 2);
}

/** The path to a value deeper than `max` below `v` (at `depth`), innermost key first. */
function deepest(v: unknown, depth: number, max: number): (string | number)[] | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  if (depth >= max) return [];
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const path = deepest(v[i], depth + 1, max);
      if (path !== undefined) {
        path.push(i);
        return path;
      }
    }
    return undefined;
  }
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue;
    const path = deepest((v as Record<string, unknown>)[k], depth + 1, max);
    if (path !== undefined) {
      path.push(k);
      return path;
    }
  }
  return undefined;
}

/** Throws -32602 naming the field when `args` nests deeper than {@link MAX_JSON_DEPTH}. */
export function assertDepth(args: unknown, where: string): void {
  const path = tooDeep(args);
  if (path === undefined) return;
  const field = path.map(String).join(".");
  throw new ToolError(
    RpcCode.InvalidParams,
    `invalid arguments for ${where}: ${field || "(args)"} is nested deeper than ${MAX_JSON_DEPTH} levels`,
    { issues: [{ path: field, message: `nested deeper than ${MAX_JSON_DEPTH} levels`, code: "too_deep" }] },
  );
}
