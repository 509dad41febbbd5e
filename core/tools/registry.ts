import { findAgent } from "../agents/manifest.ts";
import { invalidParams, unknownTool } from "./errors.ts";
import { assertDepth } from "./json-depth.ts";
import { describeTool, type Tool, type ToolContext, type ToolDescriptor } from "./tool.ts";

/** One agent's tools, validated on the way in and on the way out. */
export interface ToolRegistry {
  readonly agent: string;
  readonly tools: ReadonlyMap<string, Tool>;
  /** Listings with JSON Schemas, computed once. */
  describe(): ToolDescriptor[];
  /**
   * Validates args, runs the handler, validates its result (unless the tool's result meets its
   * output schema by construction, `outputByConstruction`). Throws ToolError on bad input.
   */
  call(tool: string, args: unknown, ctx: ToolContext): Promise<unknown>;
  /**
   * For a caller in the same process: validates args like `call` and runs the handler, but answers
   * the result as the handler built it (typed by the tool's output schema in TypeScript) without
   * parsing it again — nothing crosses a boundary. Every transport (NATS, HTTP, JSON-RPC, MCP) uses
   * `call`.
   */
  callInProcess(tool: string, args: unknown, ctx: ToolContext): Promise<unknown>;
}

export function createToolRegistry(agent: string, tools: readonly Tool[]): ToolRegistry {
  const byName = new Map<string, Tool>();
  for (const tool of tools) {
    if (byName.has(tool.name)) throw new Error(`agent "${agent}" defines tool "${tool.name}" twice`);
    byName.set(tool.name, tool);
  }
  let descriptors: ToolDescriptor[] | undefined;
  return {
    agent,
    tools: byName,
    describe() {
      descriptors ??= [...byName.values()].map(describeTool);
      return descriptors;
    },
    async call(name, args, ctx) {
      const tool = byName.get(name);
      if (tool === undefined) throw unknownTool(agent, name);
      // The handler awaited here, not through run's async frame (the served call's hot path).
      const result = await tool.handler(parsedArgs(tool, `${agent}.${name}`, args), ctx);
      if (tool.outputByConstruction === true) return result;
      const output = tool.output.safeParse(result);
      if (!output.success) {
        ctx.logger.error(
          { tool: name, issues: output.error.issues },
          "tool returned a value that fails its output schema",
        );
        throw new Error(`output of ${agent}.${name} failed its schema`);
      }
      return output.data;
    },
    callInProcess(name, args, ctx) {
      const tool = byName.get(name);
      if (tool === undefined) return Promise.reject(unknownTool(agent, name));
      return run(tool, name, args, ctx);
    },
  };

  /** Validates the arguments and runs the handler (its result not validated). */
  async function run(tool: Tool, name: string, args: unknown, ctx: ToolContext): Promise<unknown> {
    return await tool.handler(parsedArgs(tool, `${agent}.${name}`, args), ctx);
  }
}

/** A call's arguments as the tool's input schema parses them (its quick check first); -32602 otherwise. */
function parsedArgs(tool: Tool, where: string, args: unknown): unknown {
  assertDepth(args, where);
  const quick = tool.quickInput?.(args ?? {});
  if (quick !== undefined) return quick;
  const input = tool.input.safeParse(args ?? {});
  if (!input.success) throw invalidParams(`invalid arguments for ${where}`, input.error);
  return input.data;
}

/** True when `nameOrAlias` designates the registry's agent (by manifest name or seed alias). */
export function servesAgent(registry: Pick<ToolRegistry, "agent">, nameOrAlias: string): boolean {
  if (nameOrAlias === registry.agent) return true;
  return findAgent(nameOrAlias)?.name === registry.agent;
}
