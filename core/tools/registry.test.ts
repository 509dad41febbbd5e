import { describe, expect, it } from "vitest";
import { z } from "zod";
import { quietLogger } from "../telemetry/log.ts";
import { ToolError } from "./errors.ts";
import { createToolRegistry } from "./registry.ts";
import { defineTool } from "./tool.ts";

/**
 * The registry's two ways in: `call` (every transport) parses the arguments and the result;
 * `callInProcess` (a caller in the same process) parses the arguments and answers the result as the
 * handler built it.
 */
const ctx = { requestId: "r", correlationId: "r", transport: "local" as const, logger: quietLogger() };
const built: { sum: number; extra: string }[] = [];
const add = defineTool({
  name: "add",
  description: "adds two finite numbers",
  input: z.object({ a: z.number().finite(), b: z.number().finite().default(1) }).strict(),
  output: z.object({ sum: z.number().finite() }),
  handler: ({ a, b }) => {
    // `extra` is not in the output schema: parsing the result strips it.
    const out = { sum: a + b, extra: "handler's own" };
    built.push(out);
    return out;
  },
});
let doubled: { product: number } | undefined;
const double = defineTool({
  name: "double",
  description: "doubles a finite number",
  input: z.object({ a: z.number().finite() }).strict(),
  output: z.object({ product: z.number().finite() }),
  outputByConstruction: true,
  handler: ({ a }) => {
    doubled = { product: 2 * a };
    return doubled;
  },
});
const registry = createToolRegistry("calc", [add, double]);

describe("tool registry", () => {
  it("call answers the parsed result; callInProcess the value the handler built", async () => {
    expect(await registry.call("add", { a: 2 }, ctx)).toEqual({ sum: 3 });
    const answer = await registry.callInProcess("add", { a: 2, b: 5 }, ctx);
    expect(answer).toBe(built.at(-1));
    expect(answer).toEqual({ sum: 7, extra: "handler's own" });
  });

  it("call answers a result that meets its schema by construction as built, still parsing the arguments", async () => {
    const answer = await registry.call("double", { a: 4 }, ctx);
    expect(answer).toBe(doubled);
    expect(answer).toEqual({ product: 8 });
    expect(double.output.parse(answer)).toEqual(answer);
    expect(await registry.call("double", { a: "4" }, ctx).catch((e: unknown) => e)).toBeInstanceOf(ToolError);
  });

  it("callInProcess still refuses bad arguments, naming the field, and unknown tools", async () => {
    const bad = await registry.callInProcess("add", { a: Number.NaN }, ctx).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ToolError);
    expect((bad as ToolError).code).toBe(-32602);
    expect((bad as ToolError).data).toMatchObject({ issues: [{ path: "a" }] });
    const unknown = await registry.callInProcess("mul", { a: 1 }, ctx).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(ToolError);
    expect(await registry.callInProcess("add", { a: 1, c: 2 }, ctx).catch((e: unknown) => e)).toBeInstanceOf(
      ToolError,
    );
  });
});
