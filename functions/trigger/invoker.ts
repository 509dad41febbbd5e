import type { AnyFunctionDefinition, InboundEvent, LiveChannel } from "../../core/functions/contract.ts";
import type { BatchPayload, BatchResult } from "../../core/functions/run.ts";

/**
 * Runs one batch of one function somewhere: in this process, or as an AWS Lambda. `parsed` is the
 * batch the trigger already parsed (an in-process invoker may use it; a remote one sends `payload`).
 */
export interface Invoker {
  readonly kind: "inprocess" | "lambda";
  invoke(
    def: AnyFunctionDefinition,
    payload: BatchPayload,
    parsed: readonly InboundEvent<unknown>[],
    /** Interim effects the handler may publish while it runs (in-process invokers pass it on). */
    live?: LiveChannel,
  ): Promise<BatchResult>;
}

/** The function ran and failed (threw, or its Lambda reported a function error). Retryable. */
export class FunctionFailedError extends Error {
  override name = "FunctionFailedError";
  constructor(
    readonly fn: string,
    message: string,
    readonly errorType?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
