import type { LiveChannel, OutputEvent, OutputObject } from "../../core/functions/contract.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import { events } from "../../core/events/catalogue.ts";
import { outputOf } from "../../core/functions/outputs.ts";
import { progressOf, type RunProgress, type RunStatus, statusObjectName } from "./status.ts";

export interface ProgressReporter {
  /** An engine report: `done` of `total` bars. */
  report(done: number, total: number): void;
  /** Resolves once every live publish so far has settled (call before returning the final effects). */
  settled(): Promise<void>;
  /** The latest report, if any. */
  readonly last: RunProgress | undefined;
}

/**
 * A run's progress while it goes. The engine reports at 0 bars, every tenth of the run and at the
 * end (core/backtest/engine.ts) — at most 11 reports, whatever the run's size: that is the bound on
 * the rate. Each report becomes the `running` status object (with the progress and the attempt) and
 * a `backtest.progress` event `{ runId, done, total, fraction }` on `events.backtesting.progress`.
 *
 * With the trigger's live channel both are published at once, the status object before the event,
 * so a consumer of the event reads a status at least as far along. Publishes go one after the other:
 * concurrent puts of one object name race in the object store (a later put can purge an earlier
 * one's chunks), and progress must arrive in order anyway. A failed live publish is logged, never
 * fatal to the run. Without a live channel (a Lambda) no running status is written and the events
 * go out with the run's final effects, before its completion.
 */
export function progressReporter(args: {
  cause: number;
  runId: string;
  attempt: number;
  live: LiveChannel | undefined;
  logger: Logger;
  /** Where the events go without a live channel. */
  events: OutputEvent[];
}): ProgressReporter {
  const { cause, runId, attempt, live, logger } = args;
  let chain: Promise<void> = Promise.resolve();
  let last: RunProgress | undefined;
  return {
    get last() {
      return last;
    },
    report(done, total) {
      const progress = progressOf(done, total);
      last = progress;
      const event: OutputEvent = outputOf(events.backtesting.progress, cause, { runId, ...progress });
      if (live === undefined) {
        args.events.push(event);
        return;
      }
      const status: OutputObject<RunStatus> = {
        cause,
        name: statusObjectName(runId),
        data: { runId, status: "running", at: Date.now(), attempt, progress },
      };
      chain = chain
        .then(() => live.publish({ objects: [status], events: [event] }))
        .catch((err: unknown) => logger.warn({ err, runId, done }, "live progress not published"));
    },
    settled: () => chain,
  };
}
