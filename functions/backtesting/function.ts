import type { z } from "zod";
import { type BacktestResult, summarize } from "../../core/backtest/backtest.ts";
import {
  defineFunction,
  type Effects,
  type FunctionContext,
  type InboundEvent,
  type OutputEvent,
  type OutputObject,
} from "../../core/functions/contract.ts";
import { envelopeOf, events } from "../../core/events/catalogue.ts";
import { outputOf } from "../../core/functions/outputs.ts";
import { type BacktestCommand, type Refusal, refusalOf, resultObjectName } from "./command.ts";
import {
  type BacktestingState,
  BacktestingState as BacktestingStateSchema,
  FinishedRuns,
  initialBacktestingState,
} from "./finished-runs.ts";
import { progressReporter } from "./progress.ts";
import { candlesOf, executeBacktest, mlProbabilities } from "./run.ts";
import { runBacktestInWorker } from "./run-in-worker.ts";
import { type RunStatus, statusObjectName } from "./status.ts";
import { backtestingTools } from "./tools.ts";

/**
 * The backtesting function. Consumes `cmd.backtesting.>` on COMMANDS; for each backtest command it
 * runs core's engine — in a worker thread, so that while it runs the trigger's live channel publishes
 * the run's `running` status (with its progress) and `backtest.progress` events (progress.ts) — and
 * returns, in this order:
 *   - `backtest.completed` with the summary on `events.backtesting.completed` (or `backtest.failed`
 *     with the reason, cause and code on `events.backtesting.failed` when the data, the model or the
 *     spec is refused, or when the run failed on its last delivery),
 *   - the full result (equity curve, every trade and fill) in the results object store as
 *     `backtest/<runId>.json`, and the run's final status `backtest/<runId>.status.json`.
 * A run finished once is never run again (finished-runs.ts). The handler does no I/O (the trigger
 * publishes): commands carry simulated or inline data; exchange data is fetched by the run_backtest
 * tool. A command that fails the schema is dead-lettered.
 */
export const BacktestCommandEnvelope = envelopeOf(events.backtesting.requested);
export type BacktestCommandEnvelope = z.infer<typeof BacktestCommandEnvelope>;

type Ctx = FunctionContext<BacktestingState>;

/** The engine run: in a worker thread with live progress when the trigger offers a live channel. */
async function execute(
  spec: BacktestCommand["spec"],
  ctx: Ctx,
  onProgress: (done: number, total: number) => void,
): Promise<BacktestResult> {
  // No live channel (a Lambda): run here; progress goes out with the completion.
  if (ctx.live === undefined) return executeBacktest(spec, { onProgress });
  if (spec.data.source === "exchange") await candlesOf(spec.data, {}); // refused: no I/O here
  const { model, ...engineSpec } = spec;
  const probs =
    spec.strategy.kind === "ml_signal"
      ? await mlProbabilities(spec.strategy, model, await candlesOf(spec.data, {}), {})
      : undefined;
  return runBacktestInWorker(engineSpec, { ...(probs !== undefined ? { probs } : {}), onProgress });
}

/**
 * Why a run that threw something other than a refusal failed, on its last delivery (earlier ones
 * throw, so the trigger retries with backoff): the run is reported failed rather than left running.
 */
function lastDeliveryFailure(msg: InboundEvent<unknown>, ctx: Ctx): Refusal | undefined {
  const max = ctx.config.TRIGGER_MAX_DELIVERIES;
  if (msg.deliveryCount < max) return undefined;
  return {
    reason: `the run failed on each of its ${max} deliveries (an internal error, logged by the backtesting function)`,
    cause: "internal",
    code: "internal",
  };
}

/** One command's run; its effects go to `out`. Throws (the batch is retried) for a bug before the last delivery. */
async function runCommand(
  msg: InboundEvent<BacktestCommandEnvelope>,
  runId: string,
  ctx: Ctx,
  out: { events: OutputEvent[]; objects: OutputObject[] },
): Promise<void> {
  const cause = msg.seq;
  const attempt = msg.deliveryCount;
  const status = (s: Omit<RunStatus, "runId" | "at" | "attempt">): OutputObject<RunStatus> => ({
    cause,
    name: statusObjectName(runId),
    data: { runId, at: ctx.now, attempt, ...s },
  });
  const progress = progressReporter({
    cause,
    runId,
    attempt,
    live: ctx.live,
    logger: ctx.logger,
    events: out.events,
  });
  try {
    const result = await execute(msg.event.data.spec, ctx, (done, total) => progress.report(done, total));
    await progress.settled();
    const resultName = resultObjectName(runId);
    out.events.push(
      outputOf(events.backtesting.completed, cause, {
        runId,
        resultObject: resultName,
        summary: summarize(result),
      }),
    );
    const total = progress.last?.total;
    out.objects.push(
      { cause, name: resultName, data: { runId, ...result } },
      status({
        status: "completed",
        ...(total !== undefined ? { progress: { done: total, total, fraction: 1 } } : {}),
      }),
    );
  } catch (err) {
    await progress.settled();
    const refusal = refusalOf(err) ?? lastDeliveryFailure(msg, ctx);
    if (refusal === undefined) throw err;
    ctx.logger.warn({ runId, attempt, ...refusal, err }, "backtest failed");
    out.events.push(outputOf(events.backtesting.failed, cause, { runId, ...refusal }));
    out.objects.push(
      status({
        status: "failed",
        ...(progress.last !== undefined ? { progress: progress.last } : {}),
        ...refusal,
      }),
    );
  }
}

export const definition = defineFunction<BacktestCommandEnvelope, BacktestingState>({
  name: "backtesting",
  input: BacktestCommandEnvelope,
  state: { schema: BacktestingStateSchema, initial: initialBacktestingState },
  tools: (deps) => backtestingTools(deps),
  async handle(batch, ctx): Promise<Effects<BacktestingState>> {
    const out = { events: [] as OutputEvent[], objects: [] as OutputObject[] };
    const finished = new FinishedRuns(ctx.state);
    for (const msg of batch) {
      const runId = msg.event.data.runId ?? msg.event.id;
      if (finished.has(runId)) {
        ctx.logger.info({ runId, seq: msg.seq }, "backtest already finished; not run again");
        continue;
      }
      await runCommand(msg, runId, ctx, out);
      finished.add(runId);
    }
    return { ...out, state: finished.state() };
  },
});
