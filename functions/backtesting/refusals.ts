import { MarketDataError } from "../../core/market/validate.ts";
import { ModelShapeError, UnsafeModelError } from "../../core/ml/onnx-guard.ts";
import { ToolError } from "../../core/tools/errors.ts";
import type { FailureCause } from "../../core/tools/failures.ts";

/**
 * The backtester's refusals and how an error maps to one (no onnxruntime here: the worker thread of
 * a queued run imports this without loading the native scorer).
 */
/** A request that is well-formed but cannot be run (missing model, exchange data without network). */
export class BacktestRefused extends Error {
  override name = "BacktestRefused";
  constructor(
    message: string,
    readonly failureCause: FailureCause,
    readonly code: string,
  ) {
    super(message);
  }
}

/** The ONNX artifact does not fit the backtester (unreadable, other feature set or order). */
export class ModelMismatchError extends Error {
  override name = "ModelMismatchError";
}

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
  if (err instanceof ModelMismatchError || err instanceof ModelShapeError)
    return { reason: err.message, cause: "model", code: "model.mismatch" };
  if (err instanceof UnsafeModelError) return { reason: err.message, cause: "model", code: "model.unsafe" };
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
