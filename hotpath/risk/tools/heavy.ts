import { quietLogger } from "../../../core/telemetry/log.ts";
import type { Tool } from "../../../core/tools/tool.ts";
import { optimizeTools } from "./optimize.ts";
import { simulationTools } from "./simulation.ts";

/**
 * The risk tools that run in the CPU pool (core/compute/pool.ts), loaded inside a worker: the same
 * stateless handlers as on the main thread, given the args the registry already parsed.
 */
let tools: Map<string, Tool> | undefined;

export const HEAVY_MODULE = import.meta.url;

export async function runRiskTool({ tool, args }: { tool: string; args: unknown }): Promise<unknown> {
  tools ??= new Map([...simulationTools(), ...optimizeTools()].map((t) => [t.name, t]));
  const t = tools.get(tool);
  if (t === undefined) throw new Error(`no pooled risk tool ${tool}`);
  return t.handler(args as never, {
    requestId: "pool",
    correlationId: "pool",
    transport: "local",
    logger: quietLogger("risk-pool"),
  });
}
