import { z } from "zod";
import { MarketDataError } from "../../core/market/validate.ts";
import { ToolError } from "../../core/tools/errors.ts";
import type { FailureCause } from "../../core/tools/failures.ts";
import { ModelMismatchError } from "./onnx-signals.ts";
import { BacktestRefused, BacktestRequest } from "./run.ts";

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

/** Why a run was refused: the reason, its cause and stable code (core/tools/failures.ts). */
export interface Refusal {
  reason: string;
  cause: FailureCause;
  code: string;
}

/** The refusal an error stands for (bad data, no model, no network, …); undefined for a bug. */
export function refusalOf(err: unknown): Refusal | undefined {
  if (err instanceof BacktestRefused) return { reason: err.message, cause: err.failureCause, code: err.code };
  if (err instanceof MarketDataError) return { reason: err.message, cause: "data", code: "data.invalid" };
  if (err instanceof ModelMismatchError)
    return { reason: err.message, cause: "model", code: "model.mismatch" };
  if (err instanceof ToolError) {
    const d = (err.data ?? {}) as { cause?: unknown; code?: unknown };
    if (typeof d.cause === "string" && typeof d.code === "string")
      return { reason: err.message, cause: d.cause as FailureCause, code: d.code };
  }
  // Strategy and sizing constructors refuse impossible parameters with a RangeError (e.g. KellyInputError).
  if (err instanceof RangeError) return { reason: err.message, cause: "input", code: "input.invalid" };
  return undefined;
}

/** The message of an error that refuses a run; undefined for anything else. */
export const refusalMessage = (err: unknown): string | undefined => refusalOf(err)?.reason;
