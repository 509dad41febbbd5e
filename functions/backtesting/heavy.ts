import { BacktestSummary } from "../../core/backtest/backtest.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { failure, ToolError } from "../../core/tools/errors.ts";
import { refusalOf } from "./refusals.ts";
import { type BacktestRequest, executeBacktest, executeWalkForward, type WalkForwardRequest } from "./run.ts";

/**
 * The backtesting tools' CPU work, run in the CPU pool (core/compute/pool.ts) inside a worker: the
 * data is already resolved to something pure (exchange data was fetched on the main thread), so this
 * module does no I/O and loads neither ccxt nor NATS.
 */
export const HEAVY_MODULE = import.meta.url;

/**
 * Known refusals become a precise tool error naming the cause (data, model, input); errors that
 * already name theirs (network, exchange: adapters/ccxt/market-data.ts) pass as they are; anything else is a bug.
 */
export async function refusing<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ToolError) throw err;
    const refusal = refusalOf(err);
    if (refusal !== undefined) throw failure(RpcCode.Rejected, refusal.cause, refusal.code, refusal.reason);
    throw err;
  }
}

async function backtestAnswer(args: BacktestRequest & { maxTrades: number }) {
  const { maxTrades, ...request } = args;
  const result = await refusing(() => executeBacktest(request));
  return {
    ...BacktestSummary.parse(result),
    equityCurve: result.equityCurve,
    trades: result.trades.slice(0, maxTrades),
    ...(result.openTrade !== undefined ? { openTrade: result.openTrade } : {}),
    fillList: result.fillList.slice(0, maxTrades),
    omittedTrades: Math.max(0, result.trades.length - maxTrades),
    omittedFills: Math.max(0, result.fillList.length - maxTrades),
    dataIssues: result.dataIssues.slice(0, 100),
  };
}

export async function runBacktestingTool({ tool, args }: { tool: string; args: unknown }): Promise<unknown> {
  if (tool === "run_backtest") return backtestAnswer(args as BacktestRequest & { maxTrades: number });
  if (tool === "run_walk_forward") return refusing(() => executeWalkForward(args as WalkForwardRequest));
  throw new Error(`no pooled backtesting tool ${tool}`);
}
