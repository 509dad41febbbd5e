import { randomUUID } from "node:crypto";
import { z } from "zod";
import { BacktestSummary, FillSchema, TradeSchema } from "../../core/backtest/backtest.ts";
import { BacktestMetrics } from "../../core/backtest/metrics.ts";
import { timeframeMs } from "../../core/domain/market.ts";
import type { FunctionToolDeps } from "../../core/functions/contract.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { objectStores, subjects } from "../../core/subjects.ts";
import { fetchExchangeCandles, marketDataAccess } from "../../core/data/load.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { failure, ToolError } from "../../core/tools/errors.ts";
import { defineTool, type Tool } from "../../core/tools/tool.ts";
import { ArtifactIntegrityError, ModelStore, UnknownModelError } from "../../core/registry/model-store.ts";
import { BacktestResultAnswer, RunStatus, statusObjectName } from "./status.ts";
import { BacktestCommand, backtestEventType, refusalOf, resultObjectName } from "./command.ts";
import {
  BacktestRequest,
  type ExchangeData,
  executeBacktest,
  executeWalkForward,
  WalkForwardRequest,
} from "./run.ts";

/** Largest run the synchronous tools accept, in bars (bigger runs go through the COMMANDS stream). */
export const MAX_SYNC_BARS = 600_000;

const RunBacktestInput = BacktestRequest.extend({
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
 * Known refusals become a precise tool error naming the cause (data, model, input); errors that
 * already name theirs (network, exchange: core/data/load.ts) pass as they are; anything else is a bug.
 */
async function refusing<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ToolError) throw err;
    const refusal = refusalOf(err);
    if (refusal !== undefined) throw failure(RpcCode.Rejected, refusal.cause, refusal.code, refusal.reason);
    throw err;
  }
}

export function backtestingTools(deps: FunctionToolDeps<undefined>): readonly Tool[] {
  const access = marketDataAccess(deps.config);
  /** A registry model's verified bytes; unknown or corrupt versions are refused naming the model. */
  const loadModel = async (version: string): Promise<Uint8Array> => {
    const store = await ModelStore.open(await deps.bus());
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

  const runBacktest = defineTool({
    name: "run_backtest",
    description:
      "Runs a small backtest synchronously (at most 600,000 bars): data (simulated by default, inline candles/OHLCV/CSV, or an exchange through ccxt with a local cache), a strategy (ma_crossover, bollinger, momentum, ml_signal with an ONNX model), fees, slippage, sizing. Returns the metrics, the equity curve, trades and fills.",
    input: RunBacktestInput,
    output: RunBacktestOutput,
    handler: async (args) => {
      checkSize(barsOf(args.data), "the data");
      const { maxTrades, ...request } = args;
      const result = await refusing(() => executeBacktest(request, { fetchExchange, loadModel }));
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
      checkSize((barsOf(args.data) * combos) / 10, "the grid × data");
      return refusing(() => executeWalkForward(args, { fetchExchange, loadModel }));
    },
  });

  const submitBacktest = defineTool({
    name: "submit_backtest",
    description:
      "Queues a backtest of any size on the COMMANDS stream; the backtesting function publishes progress and backtest.completed events and stores the full result (get it with get_backtest_result).",
    input: BacktestCommand,
    output: z.object({ runId: z.string(), subject: z.string(), resultObject: z.string() }),
    handler: async (args) => {
      const runId = args.runId ?? randomUUID();
      const subject = subjects.commands.of("backtesting", "run");
      const bus = await deps.bus();
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
      const event = makeEvent({
        id: `backtest-${runId}`,
        type: backtestEventType.command,
        source: "backtesting",
        subject,
        data: { runId, spec },
      });
      const store = await bus.objectStore(objectStores.results);
      const queued: RunStatus = { runId, status: "queued", at: Date.now() };
      await store.putBlob({ name: statusObjectName(runId) }, bus.encode(queued));
      await bus.publishEvent(event);
      return { runId, subject, resultObject: resultObjectName(runId) };
    },
  });

  const getBacktestResult = defineTool({
    name: "get_backtest_result",
    description:
      "The status of a backtest run submitted as a command (by runId): queued, running with its progress, completed with the summary, or failed with the reason, its cause and code; found: false for a run nobody submitted.",
    input: z.object({ runId: z.string().min(1).max(80) }),
    output: BacktestResultAnswer,
    handler: async ({ runId }) => {
      const store = await (await deps.bus()).objectStore(objectStores.results);
      const read = async (name: string) => {
        const bytes = await store.getBlob(name);
        return bytes === null ? undefined : (JSON.parse(new TextDecoder().decode(bytes)) as unknown);
      };
      const [statusJson, resultJson] = await Promise.all([
        read(statusObjectName(runId)),
        read(resultObjectName(runId)),
      ]);
      const status = statusJson === undefined ? undefined : RunStatus.safeParse(statusJson);
      if (status !== undefined && !status.success)
        throw failure(
          RpcCode.InternalError,
          "data",
          "data.invalid",
          `stored status of ${runId} is malformed`,
        );
      let summary: BacktestSummary | undefined;
      if (resultJson !== undefined) {
        const parsed = BacktestSummary.safeParse(resultJson);
        if (!parsed.success)
          throw failure(
            RpcCode.InternalError,
            "data",
            "data.invalid",
            `stored object ${resultObjectName(runId)} is not a backtest result`,
          );
        summary = parsed.data;
      }
      if (status === undefined && summary === undefined) return { runId, found: false };
      const s = status?.data;
      return {
        runId,
        found: true,
        // A result stored before its status object (or by an older version) is a completed run.
        status: summary !== undefined ? "completed" : (s?.status ?? "queued"),
        ...(s?.progress !== undefined ? { progress: s.progress } : {}),
        ...(s?.reason !== undefined ? { reason: s.reason } : {}),
        ...(s?.cause !== undefined ? { cause: s.cause } : {}),
        ...(s?.code !== undefined ? { code: s.code } : {}),
        ...(summary !== undefined ? { summary } : {}),
      };
    },
  });

  return [runBacktest, runWalkForward, submitBacktest, getBacktestResult];
}
