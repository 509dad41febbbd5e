import type { Config } from "../../core/config.ts";
import type { Tool } from "../../core/tools/tool.ts";
import { liveTools } from "./tools/live.ts";
import { optimizeTools } from "./tools/optimize.ts";
import type { RiskControl } from "./tools/shared.ts";
import { simulationTools } from "./tools/simulation.ts";
import { sizingTools } from "./tools/sizing.ts";

export type { RiskControl } from "./tools/shared.ts";

/** The eight tools of the risk agent, in the order listings show them. */
export function riskTools(config: Pick<Config, "KELLY_FRACTION">, control: RiskControl): Tool[] {
  return [...sizingTools(config, control), ...simulationTools(), ...optimizeTools(), ...liveTools(control)];
}
