import { z } from "zod";

/**
 * The backtesting function's state (KV `bot4_function_state`, saved by the trigger with each batch):
 * the ids of the latest finished runs, oldest first. A command for a run listed here is not run
 * again — a redelivered command, the same runId submitted twice, or a second publisher — so a
 * completed or failed run is never re-run nor reset. Being stateful also gives the function the
 * trigger's durable record of applied stream sequences: a command redelivered after its batch was
 * committed is acked without invoking the handler at all.
 *
 * Bounded: the entry must stay well inside one NATS message. Older runs are still protected by
 * submit_backtest, which reads the run's status object before queueing anything.
 */
export const MAX_FINISHED_RUNS = 2_000;

export const BacktestingState = z.object({
  finished: z.array(z.string()).max(MAX_FINISHED_RUNS),
});
export type BacktestingState = z.infer<typeof BacktestingState>;

export const initialBacktestingState = (): BacktestingState => ({ finished: [] });

/** The finished runs of one batch: what the state says, plus the runs this batch finishes. */
export class FinishedRuns {
  private readonly ids: string[];
  private readonly set: Set<string>;

  constructor(state: BacktestingState) {
    this.ids = [...state.finished];
    this.set = new Set(this.ids);
  }

  has(runId: string): boolean {
    return this.set.has(runId);
  }

  add(runId: string): void {
    if (this.set.has(runId)) return;
    this.set.add(runId);
    this.ids.push(runId);
  }

  /** The state to save: the latest {@link MAX_FINISHED_RUNS} runs. */
  state(): BacktestingState {
    return { finished: this.ids.slice(-MAX_FINISHED_RUNS) };
  }
}
