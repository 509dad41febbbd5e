import type { z } from "zod";
import { summarize } from "../../core/backtest/backtest.ts";
import {
  defineFunction,
  type Effects,
  type OutputEvent,
  type OutputObject,
} from "../../core/functions/contract.ts";
import { EventEnvelope } from "../../core/protocol/envelope.ts";
import { subjects } from "../../core/subjects.ts";
import { BacktestCommand, backtestEventType, refusalMessage, resultObjectName } from "./command.ts";
import { executeBacktest } from "./run.ts";
import { backtestingTools } from "./tools.ts";

/**
 * The backtesting function. Consumes `cmd.backtesting.>` on COMMANDS; for each backtest command it
 * runs core's engine and returns, in this order:
 *   - `backtest.progress` events (every tenth of the run) on `events.backtesting.progress`,
 *   - `backtest.completed` with the summary on `events.backtesting.completed` (or `backtest.failed`
 *     with the reason on `events.backtesting.failed` when the data or the spec is refused),
 *   - the full result (equity curve, every trade and fill) in the results object store as
 *     `backtest/<runId>.json`.
 * The handler does no I/O (the trigger publishes): commands carry simulated or inline data; exchange
 * data is fetched by the run_backtest tool. A command that fails the schema is dead-lettered.
 */
export const BacktestCommandEnvelope = EventEnvelope.extend({ data: BacktestCommand });
export type BacktestCommandEnvelope = z.infer<typeof BacktestCommandEnvelope>;

const subject = {
  progress: subjects.events.of("backtesting", "progress"),
  completed: subjects.events.of("backtesting", "completed"),
  failed: subjects.events.of("backtesting", "failed"),
};

export const definition = defineFunction<BacktestCommandEnvelope, undefined>({
  name: "backtesting",
  input: BacktestCommandEnvelope,
  tools: (deps) => backtestingTools(deps),
  async handle(batch, ctx): Promise<Effects<undefined>> {
    const events: OutputEvent[] = [];
    const objects: OutputObject[] = [];
    for (const msg of batch) {
      const cause = msg.seq;
      const runId = msg.event.data.runId ?? msg.event.id;
      try {
        const result = await executeBacktest(msg.event.data.spec, {
          onProgress: (done, total) =>
            events.push({
              cause,
              subject: subject.progress,
              type: backtestEventType.progress,
              data: { runId, done, total, fraction: done / total },
            }),
        });
        const name = resultObjectName(runId);
        events.push({
          cause,
          subject: subject.completed,
          type: backtestEventType.completed,
          data: { runId, resultObject: name, summary: summarize(result) },
        });
        objects.push({ cause, name, data: { runId, ...result } });
      } catch (err) {
        const reason = refusalMessage(err);
        if (reason === undefined) throw err;
        ctx.logger.warn({ runId, reason }, "backtest refused");
        events.push({
          cause,
          subject: subject.failed,
          type: backtestEventType.failed,
          data: { runId, reason },
        });
      }
    }
    return { events, objects };
  },
});
