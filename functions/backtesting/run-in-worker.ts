import { Worker } from "node:worker_threads";
import type { BacktestResult } from "../../core/backtest/backtest.ts";
import type { BacktestSpec } from "../../core/backtest/spec.ts";
import { BacktestRefused, type Refusal } from "./refusals.ts";

/**
 * Runs core's (synchronous) engine in a worker thread, so the process's event loop stays free while
 * a long backtest runs: the trigger's live channel publishes progress as it comes, and the batch's
 * ack-wait heartbeat keeps going. The result crosses back by structured clone. A refusal inside the
 * worker comes back as a BacktestRefused with its cause and code; anything else as an Error.
 */
export function runBacktestInWorker(
  spec: BacktestSpec,
  options: { probs?: Float64Array; onProgress?: (done: number, total: number) => void } = {},
): Promise<BacktestResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./backtest-worker.mjs", import.meta.url), {
      workerData: { spec, ...(options.probs !== undefined ? { probs: options.probs } : {}) },
    });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.on("message", (m: WorkerMessage) => {
      if (m.type === "progress") options.onProgress?.(m.done, m.total);
      else if (m.type === "result") settle(() => resolve(m.result));
      else
        settle(() =>
          reject(
            m.refusal !== undefined
              ? new BacktestRefused(m.refusal.reason, m.refusal.cause, m.refusal.code)
              : new Error(`backtest worker failed: ${m.message}`),
          ),
        );
    });
    worker.on("error", (err) => settle(() => reject(err)));
    worker.on("exit", (code) =>
      settle(() => reject(new Error(`backtest worker exited with code ${code} before answering`))),
    );
  });
}

type WorkerMessage =
  | { type: "progress"; done: number; total: number }
  | { type: "result"; result: BacktestResult }
  | { type: "error"; message: string; refusal?: Refusal };
