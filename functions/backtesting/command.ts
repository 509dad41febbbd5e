/**
 * The backtest command (`cmd.backtesting.run` on COMMANDS) and the names of what it produces. The
 * command's and the events' types, subjects and schemas are the catalogue's (`events.backtesting` in
 * core/events/catalogue.ts).
 */
export { BacktestCommand } from "../../core/events/data/backtesting.ts";

/** The full result's name in the results object store. */
export const resultObjectName = (runId: string) => `backtest/${runId}.json`;

export { type Refusal, refusalMessage, refusalOf } from "./refusals.ts";
