import { toolRunner } from "../../../core/compute/pool.ts";
import { optimizeTools } from "./optimize.ts";
import { simulationTools } from "./simulation.ts";

/**
 * The risk tools that run in the CPU pool (core/compute/pool.ts), loaded inside a worker: the same
 * stateless handlers as on the main thread, given the args the registry already parsed.
 */
export const HEAVY_MODULE = import.meta.url;

export const runRiskTool = toolRunner("risk", () => [...simulationTools(), ...optimizeTools()]);
