import type { Config } from "../../core/config.ts";
import { poolOptionsOf, pooled } from "../../core/compute/pool.ts";
import type { Tool } from "../../core/tools/tool.ts";
import { HEAVY_MODULE } from "./tools/heavy.ts";
import { liveTools } from "./tools/live.ts";
import { optimizeTools } from "./tools/optimize.ts";
import type { RiskControl } from "./tools/shared.ts";
import { simulationTools } from "./tools/simulation.ts";
import { sizingTools } from "./tools/sizing.ts";

export type { RiskControl } from "./tools/shared.ts";

/**
 * The eight tools of the risk agent, in the order listings show them. Monte Carlo (monte_carlo, and
 * calculate_var when it simulates) and optimize_portfolio run in the CPU pool; the rest in thread.
 */
export function riskTools(
  config: Pick<Config, "KELLY_FRACTION"> & Partial<Pick<Config, "BOT4_CPU_DEADLINE_MS" | "BOT4_CPU_WORKERS">>,
  control: RiskControl,
): Tool[] {
  const pool = poolOptionsOf(config);
  const heavy = (tool: Tool, when?: (args: unknown) => boolean) =>
    pooled(tool, HEAVY_MODULE, "runRiskTool", { ...pool, ...(when === undefined ? {} : { when }) });
  const simulates = (args: unknown) => {
    const a = args as { returns?: unknown; method?: string };
    return a.returns !== undefined && (a.method === "monte_carlo" || a.method === "all");
  };
  const simulation = simulationTools().map((t) =>
    t.name === "monte_carlo" ? heavy(t) : t.name === "calculate_var" ? heavy(t, simulates) : t,
  );
  return [
    ...sizingTools(config, control),
    ...simulation,
    ...optimizeTools().map((t) => heavy(t)),
    ...liveTools(control),
  ];
}
