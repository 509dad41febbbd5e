import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import {
  type BlockRunner,
  blockScratch,
  blocksOf,
  inThread,
  type PortfolioSimulation,
  simulateBlock,
} from "../risk/var.ts";
import { type BlockMessage, CLAIMED, DONE, FREE, HELPED, JOB } from "./block-protocol.ts";

/**
 * Runs a Monte Carlo simulation's blocks on two cores: the calling thread and one helper thread share
 * them, and the call stays synchronous. The caller posts the job, claims blocks from the bottom up
 * while the helper claims them from the top down (one compare-and-set per block on a shared status
 * array), and then waits (Atomics.wait) for the blocks the helper holds. Each block draws from its own
 * stream (core/risk/var.ts), so the paths do not depend on who ran which block.
 *
 * Robust by construction: a helper that is still starting, busy or descheduled simply claims fewer
 * blocks (the caller runs the rest); one that holds a block past {@link STALL_MS} is given up on — the
 * caller simulates that block itself (same values: a late write of the helper's is identical) and
 * every later call runs in the calling thread. Each job has its own shared buffers, so a late helper
 * never writes into another job's paths. The helper is unref'd: it keeps no process alive.
 *
 * On one core, or where the helper's entry is not shipped (a one-file bundle, a Lambda), the runner is
 * {@link inThread}.
 */
const ENTRY = new URL("./block-worker.mjs", import.meta.url);
/** How long the caller waits on a block the helper holds before simulating it itself. */
export const STALL_MS = 2_000;

interface Helper {
  worker: Worker;
  port: MessagePort;
  counter: Int32Array;
  failed: boolean;
}

let helper: Helper | undefined;
/** Blocks run by the caller and by the helper since the process started. */
const ran = { caller: 0, helper: 0 };
let unavailable = false;

function startHelper(): Helper | undefined {
  if (unavailable) return undefined;
  if (helper !== undefined) return helper.failed ? undefined : helper;
  if (availableParallelism() < 2 || ENTRY.protocol !== "file:" || !existsSync(fileURLToPath(ENTRY))) {
    unavailable = true;
    return undefined;
  }
  const control = new SharedArrayBuffer(4);
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(ENTRY, { workerData: { control, port: port2 }, transferList: [port2] });
  worker.unref();
  port1.unref();
  const h: Helper = { worker, port: port1, counter: new Int32Array(control), failed: false };
  const fail = () => {
    h.failed = true;
  };
  worker.on("error", fail);
  worker.on("exit", fail);
  helper = h;
  return h;
}

function post(h: Helper, job: BlockMessage): void {
  h.port.postMessage(job);
  Atomics.add(h.counter, JOB, 1);
  Atomics.notify(h.counter, JOB);
}

function runShared(h: Helper, sim: PortfolioSimulation): Float64Array {
  const blocks = blocksOf(sim);
  const status = new Int32Array(new SharedArrayBuffer(4 * blocks));
  const out = new Float64Array(new SharedArrayBuffer(8 * sim.paths));
  post(h, { sim, status: status.buffer as SharedArrayBuffer, out: out.buffer as SharedArrayBuffer });
  const scratch = blockScratch(sim.n);
  for (let b = 0; b < blocks; b++) {
    if (Atomics.compareExchange(status, b, FREE, CLAIMED) !== FREE) break;
    simulateBlock(sim, b, out, scratch);
    Atomics.store(status, b, DONE);
  }
  for (let b = blocks - 1; b >= 0; b--) {
    if (Atomics.load(status, b) !== CLAIMED) continue;
    if (!h.failed) Atomics.wait(status, b, CLAIMED, STALL_MS);
    if (Atomics.load(status, b) === CLAIMED) {
      h.failed = true;
      simulateBlock(sim, b, out, scratch);
      Atomics.store(status, b, DONE);
    }
  }
  for (let b = 0; b < blocks; b++) {
    if (status[b] === HELPED) ran.helper++;
    else ran.caller++;
  }
  return out;
}

/** The process's block runner: shared with the helper thread when there is a second core, else {@link inThread}. */
export const sharedBlocks: BlockRunner = {
  run(sim) {
    const h = blocksOf(sim) < 2 ? undefined : startHelper();
    return h === undefined ? inThread.run(sim) : runShared(h, sim);
  },
};

/** Stops the helper thread (tests, shutdown); the next call starts a new one. */
export async function closeBlockHelper(): Promise<void> {
  const h = helper;
  helper = undefined;
  if (h === undefined) return;
  post(h, { stop: true });
  await h.worker.terminate();
}

/** The helper's state (not started, running, or given up on) and the blocks each side ran so far. */
export function blockHelperState(): {
  state: "none" | "running" | "failed";
  callerBlocks: number;
  helperBlocks: number;
} {
  const state = helper === undefined ? "none" : helper.failed ? "failed" : "running";
  return { state, callerBlocks: ran.caller, helperBlocks: ran.helper };
}
