import { z } from "zod";
import { BacktestSummary } from "../../core/backtest/backtest.ts";
import { RunProgress } from "../../core/events/data/backtesting.ts";
import { FailureCause } from "../../core/tools/failures.ts";

/**
 * The status of a queued backtest run, stored next to its result in the results object store as
 * `backtest/<runId>.status.json`:
 *   queued    written by submit_backtest before the command is published;
 *   running   written by the function through the trigger's live channel when the engine starts
 *             (0 of n bars) and at every tenth of the run, with the progress;
 *   completed written with the result (the summary is in `backtest/<runId>.json`);
 *   failed    written instead of a result, with the reason, its cause and stable code
 *             (core/tools/failures.ts).
 */
export const RunState = z.enum(["queued", "running", "completed", "failed"]);
export type RunState = z.infer<typeof RunState>;

/** A finished run is never run again nor reset (see finished-runs.ts and submit_backtest). */
export const isFinished = (state: RunState): boolean => state === "completed" || state === "failed";

export { RunProgress };

export const progressOf = (done: number, total: number): RunProgress => ({
  done,
  total,
  fraction: total === 0 ? 1 : done / total,
});

export const RunStatus = z.object({
  runId: z.string(),
  status: RunState,
  /** Wall-clock ms of the last change. */
  at: z.number().int(),
  /** The delivery of the command that is running (or ran) it: 1, then 2… on redeliveries. */
  attempt: z.number().int().positive().optional(),
  progress: RunProgress.optional(),
  reason: z.string().optional(),
  cause: FailureCause.optional(),
  code: z.string().optional(),
});
export type RunStatus = z.infer<typeof RunStatus>;

export const statusObjectName = (runId: string) => `backtest/${runId}.status.json`;

/** What get_backtest_result answers: the stored status without its time, and the result's summary. */
export const BacktestResultAnswer = RunStatus.omit({ at: true }).partial({ status: true }).extend({
  /** A status or a result exists for the run. */
  found: z.boolean(),
  summary: BacktestSummary.optional(),
});
export type BacktestResultAnswer = z.infer<typeof BacktestResultAnswer>;
