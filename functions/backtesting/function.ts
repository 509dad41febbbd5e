import type { z } from "zod";
import { type BacktestResult, summarize } from "../../core/backtest/backtest.ts";
import {
  defineFunction,
  type Effects,
  type FunctionContext,
  type LiveChannel,
  type OutputEvent,
  type OutputObject,
} from "../../core/functions/contract.ts";
import { EventEnvelope } from "../../core/protocol/envelope.ts";
import { subjects } from "../../core/subjects.ts";
import { BacktestCommand, backtestEventType, refusalOf, resultObjectName } from "./command.ts";
import { candlesOf, executeBacktest, mlProbabilities } from "./run.ts";
import { runBacktestInWorker } from "./run-in-worker.ts";
import { type RunStatus, statusObjectName } from "./status.ts";
import { backtestingTools } from "./tools.ts";

/**
 * The backtesting function. Consumes `cmd.backtesting.>` on COMMANDS; for each backtest command it
 * runs core's engine — in a worker thread, so that while it runs the trigger's live channel publishes
 * `backtest.progress` events (every tenth of the run) on `events.backtesting.progress` and the run's
 * status object `backtest/<runId>.status.json` (running, with progress) — and returns, in this order:
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

/** One command's run: in a worker thread with live progress when the trigger offers a live channel. */
async function runCommand(
  msg: { seq: number; event: BacktestCommandEnvelope },
  ctx: FunctionContext<undefined>,
  out: { events: OutputEvent[]; objects: OutputObject[] },
): Promise<void> {
  const cause = msg.seq;
  const runId = msg.event.data.runId ?? msg.event.id;
  const spec = msg.event.data.spec;
  const name = statusObjectName(runId);
  const status = (s: Omit<RunStatus, "runId" | "at">, at: number): OutputObject<RunStatus> => ({
    cause,
    name,
    data: { runId, at, ...s },
  });
  const live = ctx.live;
  // Live publishes go one after the other: concurrent puts of one object name race in the object
  // store (a later put can purge an earlier one's chunks), and progress must arrive in order anyway.
  let chain: Promise<void> = Promise.resolve();
  const pending = [chain];
  const send = (effects: Parameters<LiveChannel["publish"]>[0]) => {
    if (live === undefined) return;
    chain = chain
      .then(() => live.publish(effects))
      .catch((err: unknown) => ctx.logger.warn({ err, runId }, "live progress not published"));
    pending.push(chain);
  };
  const onProgress = (done: number, total: number) => {
    const progress = { done, total, fraction: total === 0 ? 1 : done / total };
    const event: OutputEvent = {
      cause,
      subject: subject.progress,
      type: backtestEventType.progress,
      data: { runId, ...progress },
    };
    if (live === undefined) out.events.push(event);
    else send({ events: [event] });
  };
  try {
    let result: BacktestResult;
    if (live === undefined) {
      // No live channel (a Lambda): run here; progress goes out with the completion.
      result = await executeBacktest(spec, { onProgress });
    } else {
      if (spec.data.source === "exchange") await candlesOf(spec.data, {});
      const { model, ...engineSpec } = spec;
      const probs =
        spec.strategy.kind === "ml_signal"
          ? await mlProbabilities(spec.strategy, model, await candlesOf(spec.data, {}), {})
          : undefined;
      result = await runBacktestInWorker(engineSpec, {
        ...(probs !== undefined ? { probs } : {}),
        onProgress,
      });
    }
    await Promise.all(pending);
    const resultName = resultObjectName(runId);
    out.events.push({
      cause,
      subject: subject.completed,
      type: backtestEventType.completed,
      data: { runId, resultObject: resultName, summary: summarize(result) },
    });
    // The stored result is what marks the run completed (get_backtest_result reads it).
    out.objects.push({ cause, name: resultName, data: { runId, ...result } });
  } catch (err) {
    await Promise.all(pending);
    const refusal = refusalOf(err);
    if (refusal === undefined) throw err;
    ctx.logger.warn({ runId, ...refusal }, "backtest refused");
    out.events.push({
      cause,
      subject: subject.failed,
      type: backtestEventType.failed,
      data: { runId, ...refusal },
    });
    out.objects.push(status({ status: "failed", ...refusal }, ctx.now));
  }
}

export const definition = defineFunction<BacktestCommandEnvelope, undefined>({
  name: "backtesting",
  input: BacktestCommandEnvelope,
  tools: (deps) => backtestingTools(deps),
  async handle(batch, ctx): Promise<Effects<undefined>> {
    const out = { events: [] as OutputEvent[], objects: [] as OutputObject[] };
    for (const msg of batch) await runCommand(msg, ctx, out);
    return out;
  },
});
