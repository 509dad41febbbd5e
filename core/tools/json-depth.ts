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
 * when the value is within the limit. Iterative, so it never recurses itself.
 */
export function tooDeep(value: unknown, max = MAX_JSON_DEPTH): (string | number)[] | undefined {
  const stack: { v: unknown; depth: number; path: (string | number)[] }[] = [
    { v: value, depth: 0, path: [] },
  ];
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop() as { v: unknown; depth: number; path: (string | number)[] };
    if (typeof v !== "object" || v === null) continue;
    if (depth >= max) return path.slice(0, 2);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push({ v: v[i], depth: depth + 1, path: [...path, i] });
    } else {
      for (const [k, child] of Object.entries(v))
        stack.push({ v: child, depth: depth + 1, path: [...path, k] });
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
