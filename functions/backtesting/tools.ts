import { natsBus } from "../../adapters/nats/bus.ts";
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { BacktestSummary, FillSchema, TradeSchema } from "../../core/backtest/backtest.ts";
import { BacktestMetrics } from "../../core/backtest/metrics.ts";
import { timeframeMs } from "../../core/domain/market.ts";
import type { FunctionToolDeps } from "../../core/functions/contract.ts";
import { events, newEvent } from "../../core/events/catalogue.ts";
import { objectStores } from "../../core/subjects.ts";
import { fetchExchangeCandles, marketDataAccess } from "../../adapters/ccxt/market-data.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { failure, rejected } from "../../core/tools/errors.ts";
import { defineTool, type Tool } from "../../core/tools/tool.ts";
import { camelKey, renameKeys, snakeKey, snakeTool } from "../../core/tools/snake.ts";
import { poolOptionsOf, runPooled } from "../../core/compute/pool.ts";
import { NatsModelStore } from "../../adapters/nats/model-store.ts";
import { ArtifactIntegrityError, UnknownModelError } from "../../core/ports/model-store.ts";
import { BacktestCommand, resultObjectName } from "./command.ts";
import type { BacktestingState } from "./finished-runs.ts";
import { HEAVY_MODULE, refusing } from "./heavy.ts";
import { BacktestRequest, type ExchangeData, WalkForwardRequest } from "./run.ts";
import { readRun } from "./read-run.ts";
import { BacktestResultAnswer, type RunStatus, RunState, statusObjectName } from "./status.ts";

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
    throw failure(
      RpcCode.Rejected,
      "data",
      "data.too_large",
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

export function backtestingTools(deps: FunctionToolDeps<BacktestingState>): readonly Tool[] {
  const access = marketDataAccess(deps.config);
  /** A registry model's verified bytes; unknown or corrupt versions are refused naming the model. */
  const loadModel = async (version: string): Promise<Uint8Array> => {
    const store = await NatsModelStore.open(natsBus(await deps.bus()));
    try {
      return (await store.load(version)).bytes;
    } catch (err) {
      if (err instanceof UnknownModelError)
        throw failure(RpcCode.Rejected, "model", "model.unknown", err.message, { version });
      if (err instanceof ArtifactIntegrityError)
        throw failure(RpcCode.Rejected, "model", "model.integrity", err.message, { version });
      throw err;
    }
  };
  const fetchExchange = async (data: ExchangeData) => {
    const { candles, stats } = await fetchExchangeCandles(data, access);
    deps.logger.info({ ...stats, symbol: data.symbol, timeframe: data.timeframe }, "exchange candles loaded");
    return candles;
  };
  /** Exchange data becomes inline candles (fetched on the main thread); other sources pass as they are. */
  const resolveData = async (data: BacktestRequest["data"]): Promise<BacktestRequest["data"]> =>
    data.source === "exchange"
      ? { source: "candles", candles: await refusing(() => fetchExchange(data)) }
      : data;
  /** A registry model (by version) becomes its verified bytes inline, so the pooled run does no I/O. */
  const resolveModel = async (model: BacktestRequest["model"]): Promise<Pick<BacktestRequest, "model">> =>
    model === undefined
      ? {}
      : "onnxBase64" in model
        ? { model }
        : {
            model: {
              onnxBase64: Buffer.from(await loadModel(model.version)).toString("base64"),
              version: model.version,
            },
          };
  const pool = poolOptionsOf(deps.config);

  const runBacktest = defineTool({
    name: "run_backtest",
    description:
      "Runs a small backtest synchronously (at most 600,000 bars): data (simulated by default, inline candles/OHLCV/CSV, or an exchange through ccxt with a local cache), a strategy (ma_crossover, bollinger, momentum, ml_signal with an ONNX model), fees, slippage, sizing. Returns the metrics, the equity curve, trades and fills.",
    input: RunBacktestInput,
    output: RunBacktestOutput,
    handler: async (args) => {
      checkSize(barsOf(args.data), "the data");
      // Exchange data and a registry model are fetched here (I/O); the run itself goes to the CPU pool.
      const resolved = { ...args, data: await resolveData(args.data), ...(await resolveModel(args.model)) };
      return runPooled(
        HEAVY_MODULE,
        "runBacktestingTool",
        { tool: "run_backtest", args: resolved },
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
    handler: async (wire) => {
      // The grid names strategy params as the wire does (`std_devs`); the engine reads the catalogue's.
      const args = { ...wire, grid: renameKeys(wire.grid, camelKey) };
      const combos = Object.values(args.grid).reduce((n, v) => n * v.length, 1);
      const bars = barsOf(args.data);
      checkSize(bars, "the data");
      const work = walkForwardWork(bars, args, combos);
      if (work > MAX_SYNC_WALK_FORWARD_WORK)
        throw rejected(
          `the walk-forward run evaluates about ${Math.round(work)} bars (windows × (combinations × in_sample_bars + out_of_sample_bars), windows every step_bars); synchronous runs take at most ${MAX_SYNC_WALK_FORWARD_WORK} (use fewer combinations, a larger step_bars, or send a backtest command)`,
        );
      const resolved = { ...args, data: await resolveData(args.data), ...(await resolveModel(args.model)) };
      const out = (await runPooled(
        HEAVY_MODULE,
        "runBacktestingTool",
        { tool: "run_walk_forward", args: resolved },
        "run_walk_forward",
        pool,
      )) as z.input<typeof WalkForwardOutput>;
      return { ...out, windows: out.windows.map((w) => ({ ...w, best: renameKeys(w.best, snakeKey) })) };
    },
  });

  const submitBacktest = defineTool({
    name: "submit_backtest",
    description:
      "Queues a backtest of any size on the COMMANDS stream; the backtesting function publishes progress and backtest.completed events and stores the full result (follow it with get_backtest_result). Idempotent by run_id: a run that already exists is answered with its status and never queued again.",
    input: BacktestCommand.strict(),
    output: z.object({
      runId: z.string(),
      subject: z.string(),
      resultObject: z.string(),
      /** The run's status after the call (queued for a new run). */
      status: RunState,
      /** True when a run with this run_id existed already: nothing new was queued. */
      duplicate: z.boolean(),
    }),
    handler: async (args) => {
      const runId = args.runId ?? randomUUID();
      const subject = events.backtesting.requested.pattern;
      const bus = natsBus(await deps.bus());
      const store = await bus.objectStore(objectStores.results);
      const answer = { runId, subject, resultObject: resultObjectName(runId) };
      const existing = await readRun(bus, runId);
      // Running or finished: never queued again, never reset. A queued run is published again below
      // (its first publish may have failed); the message id dedups it, the function skips a rerun.
      if (existing.found && existing.status !== "queued")
        return { ...answer, status: existing.status ?? ("queued" as RunState), duplicate: true };
      // The command handler does no I/O: a registry model is resolved to its (small) bytes here.
      const model = args.spec.model;
      const spec =
        model !== undefined && !("onnxBase64" in model)
          ? {
              ...args.spec,
              model: {
                onnxBase64: Buffer.from(await loadModel(model.version)).toString("base64"),
                version: model.version,
              },
            }
          : args.spec;
      const event = newEvent(events.backtesting.requested, {
        id: [runId],
        source: "backtesting",
        data: { runId, spec },
      });
      if (!existing.found) {
        const queued: RunStatus = { runId, status: "queued", at: Date.now() };
        await store.putBlob({ name: statusObjectName(runId) }, bus.encode(queued));
      }
      await bus.publishEvent(event);
      return { ...answer, status: "queued" as const, duplicate: existing.found };
    },
  });

  const getBacktestResult = defineTool({
    name: "get_backtest_result",
    description:
      "The status of a backtest run submitted as a command (by run_id): queued, running with its progress (bars done of total) and attempt, completed with the summary, or failed with the reason, its cause and stable code; found: false for a run nobody submitted.",
    input: z.object({ runId: BacktestCommand.shape.runId.unwrap() }),
    output: BacktestResultAnswer,
    handler: async ({ runId }) => readRun(natsBus(await deps.bus()), runId),
  });

  return [runBacktest, runWalkForward, submitBacktest, getBacktestResult].map(snakeTool);
}
