import { z } from "zod";
import type { Logger } from "../telemetry/log.ts";

/** What a handler knows about the call it serves. */
export interface ToolContext {
  /** Unique per call. */
  readonly requestId: string;
  /** Follows a whole flow across agents; defaults to the request id. */
  readonly correlationId: string;
  readonly transport: "http" | "rpc" | "nats" | "mcp" | "local";
  readonly logger: Logger;
}

/** The ids a caller may hand a call; the callee makes up what is missing (correlation defaults to the request). */
export interface CallIds {
  requestId?: string;
  correlationId?: string;
}

export interface Tool<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly description: string;
  readonly input: I;
  readonly output: O;
  readonly handler: (args: z.output<I>, ctx: ToolContext) => Promise<z.input<O>> | z.input<O>;
  /**
   * True only when the handler's result meets `output` by construction: built with exactly the
   * schema's keys (TypeScript checks their types), from values none of its checks can refuse, and
   * with nothing for a parse to transform. The registry's `call` then answers the result as built
   * instead of parsing it again (a page of 1 000 trades: most of the tool layer's time). A test of
   * the tool must parse its results with `output` and find them unchanged.
   */
  readonly outputByConstruction?: boolean;
  /**
   * A hand-checked equivalent of `input` for well-formed arguments (a tool on a hot path): their parsed
   * value, or undefined to parse them with `input` (which gives the issues). It must accept nothing
   * `input` refuses and answer what `input` would.
   */
  readonly quickInput?: (args: unknown) => z.output<I> | undefined;
}

/** A tool as listings show it: JSON Schemas generated from the zod schemas (zod 4). */
export interface ToolDescriptor {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  outputSchema: Record<string, unknown>;
}

const TOOL_NAME = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

/** Declares a typed tool. Names are snake_case (`calculate_kelly`). */
export function defineTool<I extends z.ZodType, O extends z.ZodType>(tool: Tool<I, O>): Tool<I, O> {
  if (!TOOL_NAME.test(tool.name))
    throw new Error(`tool name must be snake_case: ${JSON.stringify(tool.name)}`);
  return tool;
}

export function describeTool(tool: Tool): ToolDescriptor {
  return {
    name: tool.name,
    description: tool.description,
    inputSchema: z.toJSONSchema(tool.input, { io: "input", unrepresentable: "any" }) as Record<
      string,
      unknown
    >,
    outputSchema: z.toJSONSchema(tool.output, { io: "output", unrepresentable: "any" }) as Record<
      string,
      unknown
    >,
  };
}
