import type { PortfolioSimulation } from "../risk/var.ts";

/** What the caller and the block helper share (blocks.ts, block-loop.ts). */
export type BlockMessage = BlockJob | { stop: true };

export interface BlockJob {
  stop?: undefined;
  sim: PortfolioSimulation;
  /** Int32Array of one state per block: FREE, CLAIMED (being simulated), DONE (by the caller) or HELPED. */
  status: SharedArrayBuffer;
  /** Float64Array of the paths. */
  out: SharedArrayBuffer;
}

/** Index of the job counter in the control words: bumped (and notified) once per job posted. */
export const JOB = 0;
export const FREE = 0;
export const CLAIMED = 1;
export const DONE = 2;
/** Simulated by the helper. */
export const HELPED = 3;
