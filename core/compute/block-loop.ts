import { type MessagePort, receiveMessageOnPort, workerData } from "node:worker_threads";
import {
  BLOCK_PAIRS,
  type BlockScratch,
  blockScratch,
  blocksOf,
  type PortfolioSimulation,
  simulateBlock,
} from "../risk/var.ts";
import { type BlockMessage, CLAIMED, FREE, HELPED, JOB } from "./block-protocol.ts";

/**
 * The block helper's loop (in its own thread, see blocks.ts): it sleeps on the job counter, takes the
 * newest job posted, and claims blocks from the top down until it meets one the caller has claimed.
 */
const { control, port } = workerData as { control: SharedArrayBuffer; port: MessagePort };
const counter = new Int32Array(control);
let seen = 0;
let scratch: BlockScratch | undefined;

for (;;) {
  Atomics.wait(counter, JOB, seen);
  seen = Atomics.load(counter, JOB);
  let job: BlockMessage | undefined;
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port))
    job = m.message as BlockMessage;
  if (job === undefined) continue;
  if (job.stop === true) break;
  work(job.sim, new Int32Array(job.status), new Float64Array(job.out));
}

function work(sim: PortfolioSimulation, status: Int32Array, out: Float64Array): void {
  if (scratch?.z.length !== sim.n * BLOCK_PAIRS) scratch = blockScratch(sim.n);
  for (let b = blocksOf(sim) - 1; b >= 0; b--) {
    if (Atomics.compareExchange(status, b, FREE, CLAIMED) !== FREE) return;
    simulateBlock(sim, b, out, scratch);
    Atomics.store(status, b, HELPED);
    Atomics.notify(status, b);
  }
}
