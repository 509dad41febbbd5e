import { z } from "zod";
import { subjects } from "../../core/subjects.ts";
import { BacktestRequest } from "./run.ts";

/** The backtest command (`cmd.backtesting.run` on COMMANDS) and the names of what it produces. */
export const BacktestCommand = z.object({
  /** Names the run: its events and its stored result (default: the command's envelope id). */
  runId: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,80}$/, "letters, digits, '_', '.', '-' (at most 80)")
    .optional(),
  spec: BacktestRequest,
});
export type BacktestCommand = z.infer<typeof BacktestCommand>;

export const backtestEventType = {
  command: "backtest.requested",
  progress: "backtest.progress",
  completed: "backtest.completed",
  failed: "backtest.failed",
} as const;

/** Where the function publishes its events (EVENTS, `events.backtesting.<kind>`). */
export const backtestingSubject = (kind: "progress" | "completed" | "failed") =>
  subjects.events.of("backtesting", kind);

/** The full result's name in the results object store. */
export const resultObjectName = (runId: string) => `backtest/${runId}.json`;

export { type Refusal, refusalMessage, refusalOf } from "./refusals.ts";
