import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { z } from "zod";
import { BacktestSummary, FillSchema, TradeSchema } from "../../core/backtest/backtest.ts";
import { BacktestMetrics } from "../../core/backtest/metrics.ts";
import { timeframeMs } from "../../core/domain/market.ts";
import type { FunctionToolDeps } from "../../core/functions/contract.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { objectStores, subjects } from "../../core/subjects.ts";
import { rejected } from "../../core/tools/errors.ts";
import { defineTool, type Tool } from "../../core/tools/tool.ts";
import { fetchCandles, marketDataExchange } from "./ccxt-data.ts";
import { poolOptionsOf, runPooled } from "../../core/compute/pool.ts";
import { BacktestCommand, backtestEventType, resultObjectName } from "./command.ts";
import { HEAVY_MODULE, refusing } from "./heavy.ts";
import { BacktestRequest, type ExchangeData, WalkForwardRequest } from "./run.ts";

/** Largest run the synchronous tools accept, in bars (bigger runs go through the COMMANDS stream). */
export const MAX_SYNC_BARS = 600_000;
/** Most backtest runs (windows × (combinations + 1)) one synchronous walk-forward makes. */
export const MAX_SYNC_RUNS = 5_000;
/** Most windows one synchronous walk-forward reports (each ~1.1 kB: the answer must fit a NATS message). */
export const MAX_SYNC_WINDOWS = 500;

export const RunBacktestInput = BacktestRequest.extend({
  /** Most trades and fills returned (the rest are counted). */
  maxTrades: z.number().int().min(0).max(10_000).default(200),
});

const RunBacktestOutput = BacktestSummary.extend({
  equityCurve: z.array(z.object({ ts: z.number(), equity: z.number() })),
  trades: z.array(TradeSchema),
  openTrade: TradeSchema.optional(),
  fillList: z.array(FillSchema),
  omittedTrades: z.number().int().nonnegative(),
  omittedFills: z.number().int().nonnegative(),
  dataIssues: z.array(z.object({ kind: z.string(), index: z.number(), ts: z.number(), message: z.string() })),
});

const WindowOutput = z.object({
  index: z.number().int(),
  inSample: z.object({ from: z.number(), to: z.number() }),
  outOfSample: z.object({ from: z.number(), to: z.number() }),
  best: z.record(z.string(), z.union([z.number(), z.boolean()])),
  inSampleScore: z.number().nullable(),
  outOfSampleScore: z.number().nullable(),
  inSampleMetrics: BacktestMetrics,
  outOfSampleMetrics: BacktestMetrics,
  skipped: z.number().int(),
});

const WalkForwardOutput = z.object({
  objective: z.string(),
  combinations: z.number().int(),
  windows: z.array(WindowOutput),
  meanInSample: z.number().nullable(),
  meanOutOfSample: z.number().nullable(),
  efficiency: z.number().nullable(),
  outOfSampleReturn: z.number(),
});

function barsOf(data: BacktestRequest["data"]): number {
  switch (data.source) {
    case "simulated":
      return data.bars;
    case "candles":
      return data.candles.length;
    case "ohlcv":
      return data.rows.length;
    case "csv":
      return data.text.length / 40;
    case "exchange":
      return Math.ceil((data.until - data.since) / timeframeMs[data.timeframe]);
  }
}

function checkSize(bars: number, what: string): void {
  if (bars > MAX_SYNC_BARS) {
    throw rejected(
      `${what} spans about ${Math.round(bars)} bars; synchronous runs take at most ${MAX_SYNC_BARS} (send a backtest command for bigger runs)`,
    );
  }
}

/**
 * The work of a walk-forward run in bar evaluations, as the engine walks it: every window runs every
 * combination on its in-sample bars and the best on its out-of-sample bars; windows start every
 * `stepBars` (default outOfSampleBars). This, not bars × combinations, is what a small step inflates.
 */
export function walkForwardWork(
  bars: number,
  spec: { inSampleBars: number; outOfSampleBars: number; stepBars?: number | undefined },
  combinations: number,
): number {
  const step = spec.stepBars ?? spec.outOfSampleBars;
  const span = spec.inSampleBars + spec.outOfSampleBars;
  if (bars < span) return 0;
  const windows = Math.floor((bars - span) / step) + 1;
  return windows * (combinations * spec.inSampleBars + spec.outOfSampleBars);
}

/** Largest walk-forward run the synchronous tool accepts, in bar evaluations. */
export const MAX_SYNC_WALK_FORWARD_WORK = 20_000_000;

export function backtestingTools(deps: FunctionToolDeps<undefined>): readonly Tool[] {
  const cacheDir = join(deps.config.BOT4_DATA_DIR, "ohlcv-cache");
  const fetchExchange = async (data: ExchangeData) => {
    const exchange = marketDataExchange(data.exchange);
    const { candles, stats } = await fetchCandles(exchange, data, { cacheDir });
    deps.logger.info({ ...stats, symbol: data.symbol, timeframe: data.timeframe }, "exchange candles loaded");
    return candles;
  };
  /** Exchange data becomes inline candles (fetched on the main thread); other sources pass as they are. */
  const resolveData = async (data: BacktestRequest["data"]): Promise<BacktestRequest["data"]> =>
    data.source === "exchange"
      ? { source: "candles", candles: await refusing(() => fetchExchange(data)) }
      : data;
  const pool = poolOptionsOf(deps.config);

  const runBacktest = defineTool({
    name: "run_backtest",
    description:
      "Runs a small backtest synchronously (at most 600,000 bars): data (simulated by default, inline candles/OHLCV/CSV, or an exchange through ccxt with a local cache), a strategy (ma_crossover, bollinger, momentum, ml_signal with an ONNX model), fees, slippage, sizing. Returns the metrics, the equity curve, trades and fills.",
    input: RunBacktestInput,
    output: RunBacktestOutput,
    handler: async (args) => {
      checkSize(barsOf(args.data), "the data");
      // Exchange data is fetched here (I/O); the run itself goes to the CPU pool.
      const data = await resolveData(args.data);
      return runPooled(
        HEAVY_MODULE,
        "runBacktestingTool",
        { tool: "run_backtest", args: { ...args, data } },
        "run_backtest",
        pool,
      ) as Promise<z.input<typeof RunBacktestOutput>>;
    },
  });

  const runWalkForward = defineTool({
    name: "run_walk_forward",
    description:
      "Walk-forward analysis: on rolling in-sample windows every combination of a parameter grid is run and the best (by sharpe, sortino, total_return or calmar) is then run on the following out-of-sample window. Reports in-sample vs out-of-sample scores so overfitting shows.",
    input: WalkForwardRequest,
    output: WalkForwardOutput,
    handler: async (args) => {
      const combos = Object.values(args.grid).reduce((n, v) => n * v.length, 1);
      const bars = barsOf(args.data);
      checkSize(bars, "the data");
      const work = walkForwardWork(bars, args, combos);
      if (work > MAX_SYNC_WALK_FORWARD_WORK)
        throw rejected(
          `the walk-forward run evaluates about ${Math.round(work)} bars (windows × (combinations × inSampleBars + outOfSampleBars), windows every stepBars); synchronous runs take at most ${MAX_SYNC_WALK_FORWARD_WORK} (use fewer combinations, a larger stepBars, or send a backtest command)`,
        );
      const data = await resolveData(args.data);
      return runPooled(
        HEAVY_MODULE,
        "runBacktestingTool",
        { tool: "run_walk_forward", args: { ...args, data } },
        "run_walk_forward",
        pool,
      ) as Promise<z.input<typeof WalkForwardOutput>>;
    },
  });

  const submitBacktest = defineTool({
    name: "submit_backtest",
    description:
      "Queues a backtest of any size on the COMMANDS stream; the backtesting function publishes progress and backtest.completed events and stores the full result (get it with get_backtest_result).",
    input: BacktestCommand.strict(),
    output: z.object({ runId: z.string(), subject: z.string(), resultObject: z.string() }),
    handler: async (args) => {
      const runId = args.runId ?? randomUUID();
      const subject = subjects.commands.of("backtesting", "run");
      const bus = await deps.bus();
      const event = makeEvent({
        id: `backtest-${runId}`,
        type: backtestEventType.command,
        source: "backtesting",
        subject,
        data: { runId, spec: args.spec },
      });
      await bus.publishEvent(event);
      return { runId, subject, resultObject: resultObjectName(runId) };
    },
  });

  const getBacktestResult = defineTool({
    name: "get_backtest_result",
    description: "The stored summary of a backtest run submitted as a command (by runId), or not found.",
    input: z.object({ runId: BacktestCommand.shape.runId.unwrap() }),
    output: z.object({ runId: z.string(), found: z.boolean(), summary: BacktestSummary.optional() }),
    handler: async ({ runId }) => {
      const store = await (await deps.bus()).objectStore(objectStores.results);
      const bytes = await store.getBlob(resultObjectName(runId));
      if (bytes === null) return { runId, found: false };
      const parsed = BacktestSummary.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
      if (!parsed.success)
        throw new Error(`stored object ${resultObjectName(runId)} is not a backtest result`);
      return { runId, found: true, summary: parsed.data };
    },
  });

  return [runBacktest, runWalkForward, submitBacktest, getBacktestResult];
}
