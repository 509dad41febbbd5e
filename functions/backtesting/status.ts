import { z } from "zod";
import { BacktestSummary } from "../../core/backtest/backtest.ts";

/**
 * The status of a queued backtest run, stored next to its result in the results object store as
 * `backtest/<runId>.status.json`:
 *   queued    written by submit_backtest before the command is published;
 *   running   written by the function while the run goes (with progress), through the trigger's live
 *             channel, at the start and every tenth of the run;
 *   completed written with the result (the summary is in `backtest/<runId>.json`);
 *   failed    written instead of a result, with the reason, its cause and stable code.
 */
export const RunState = z.enum(["queued", "running", "completed", "failed"]);
export type RunState = z.infer<typeof RunState>;

export const RunProgress = z.object({
  done: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  fraction: z.number().min(0).max(1),
});

export const RunStatus = z.object({
  runId: z.string(),
  status: RunState,
  /** Wall-clock ms of the last change. */
  at: z.number().int(),
  progress: RunProgress.optional(),
  reason: z.string().optional(),
  cause: z.string().optional(),
  code: z.string().optional(),
});
export type RunStatus = z.infer<typeof RunStatus>;

export const statusObjectName = (runId: string) => `backtest/${runId}.status.json`;

/** What get_backtest_result answers. */
export const BacktestResultAnswer = z.object({
  runId: z.string(),
  /** A status or a result exists for the run. */
  found: z.boolean(),
  status: RunState.optional(),
  progress: RunProgress.optional(),
  reason: z.string().optional(),
  cause: z.string().optional(),
  code: z.string().optional(),
  summary: BacktestSummary.optional(),
});
