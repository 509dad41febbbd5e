import { parentPort, workerData } from "node:worker_threads";
import { loadCandles, runBacktest } from "../../core/backtest/backtest.ts";
import type { BacktestSpec } from "../../core/backtest/spec.ts";
import { refusalOf } from "./refusals.ts";
import { seriesSignals } from "./series-signals.ts";

/**
 * The engine run of a queued backtest, in a worker thread (see run-in-worker.ts): pure data sources
 * only (the command path never fetches), the ML probabilities scored beforehand by the parent.
 * Posts `progress` messages while it runs, then one `result` or `error`.
 */
const { spec, probs } = workerData as { spec: BacktestSpec; probs?: Float64Array };
const port = parentPort;
if (port === null) throw new Error("backtest-worker.ts runs in a worker thread");
try {
  const candles = loadCandles(spec.data);
  const result = runBacktest(spec, candles, {
    ...(probs !== undefined ? { signals: seriesSignals(probs) } : {}),
    onProgress: (done, total) => port.postMessage({ type: "progress", done, total }),
  });
  port.postMessage({ type: "result", result });
} catch (err) {
  const refusal = refusalOf(err);
  port.postMessage({
    type: "error",
    message: err instanceof Error ? err.message : String(err),
    ...(refusal !== undefined ? { refusal } : {}),
  });
}
