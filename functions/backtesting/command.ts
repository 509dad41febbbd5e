import { z } from "zod";
import { MarketDataError } from "../../core/market/validate.ts";
import { ModelMismatchError } from "./onnx-signals.ts";
import { BacktestRefused, BacktestRequest } from "./run.ts";
import { UnsafeModelError } from "../../core/ml/onnx-guard.ts";

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

/** The full result's name in the results object store. */
export const resultObjectName = (runId: string) => `backtest/${runId}.json`;

/** The message of an error that refuses a run (bad data, no model, …); undefined for anything else. */
export function refusalMessage(err: unknown): string | undefined {
  if (
    err instanceof BacktestRefused ||
    err instanceof MarketDataError ||
    err instanceof ModelMismatchError ||
    err instanceof UnsafeModelError
  ) {
    return err.message;
  }
  // Strategy and sizing constructors refuse impossible parameters with a RangeError (e.g. KellyInputError).
  if (err instanceof RangeError) return err.message;
  return undefined;
}
