import { z } from "zod";
import { BacktestSummary } from "../../backtest/backtest.ts";
import { BacktestRequest } from "../../backtest/request.ts";
import { FailureCause } from "../../tools/failures.ts";
import { RunId } from "./run.ts";

/** The data of the backtesting function's command and events (entries in core/events/catalogue.ts). */

/** backtest.requested on `cmd.backtesting.run` (COMMANDS). */
export const BacktestCommand = z.object({
  /** Names the run: its events and its stored result (default: the command's envelope id). */
  runId: RunId.optional(),
  spec: BacktestRequest,
});
export type BacktestCommand = z.infer<typeof BacktestCommand>;

export const RunProgress = z.object({
  /** Bars the engine has processed. */
  done: z.number().int().nonnegative(),
  /** Bars of the run. */
  total: z.number().int().nonnegative(),
  fraction: z.number().min(0).max(1),
});
export type RunProgress = z.infer<typeof RunProgress>;

/** backtest.progress: `done` of `total` bars of a run. */
export const BacktestProgress = RunProgress.extend({ runId: z.string() });
export type BacktestProgress = z.infer<typeof BacktestProgress>;

/** backtest.completed: the summary; the full result is `resultObject` in the results store. */
export const BacktestCompleted = z.object({
  runId: z.string(),
  resultObject: z.string(),
  summary: BacktestSummary,
});
export type BacktestCompleted = z.infer<typeof BacktestCompleted>;

/** backtest.failed: why the run was refused or failed, its cause and stable code (core/tools/failures.ts). */
export const BacktestFailed = z.object({
  runId: z.string(),
  reason: z.string(),
  cause: FailureCause,
  code: z.string(),
});
export type BacktestFailed = z.infer<typeof BacktestFailed>;
