import { z } from "zod";
import { type BacktestResult, loadCandles, runBacktest } from "../../core/backtest/backtest.ts";
import { BacktestSpec, type DataSpec } from "../../core/backtest/spec.ts";
import { type WalkForwardResult, WalkForwardSpec, walkForward } from "../../core/backtest/walk-forward.ts";
import type { Candle } from "../../core/domain/market.ts";
import type { StrategyDeps, StrategySpec } from "../../core/strategy/spec.ts";
import type { FailureCause } from "../../core/tools/failures.ts";
import { scoreSeries, seriesSignals } from "./onnx-signals.ts";

/**
 * The backtesting function's use cases: resolve the data (pure sources in core, the exchange through
 * an injected fetcher), score the ONNX model when the strategy is `ml_signal`, then run core's engine.
 */
export const ModelRef = z.object({
  /** ONNX bytes (core/ml export), base64. */
  onnxBase64: z.string().min(16).max(20_000_000),
});

export const BacktestRequest = BacktestSpec.extend({ model: ModelRef.optional() });
export type BacktestRequest = z.infer<typeof BacktestRequest>;
export type BacktestRequestInput = z.input<typeof BacktestRequest>;

export const WalkForwardRequest = WalkForwardSpec.extend({ model: ModelRef.optional() });
export type WalkForwardRequest = z.infer<typeof WalkForwardRequest>;

export type ExchangeData = Extract<DataSpec, { source: "exchange" }>;
export type ExchangeFetcher = (data: ExchangeData) => Promise<Candle[]>;

/** A request that is well-formed but cannot be run (missing model, exchange data without network). */
export class BacktestRefused extends Error {
  override name = "BacktestRefused";
  constructor(
    message: string,
    readonly failureCause: FailureCause,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface ExecuteDeps {
  /** Fetches exchange data; absent where no I/O is allowed (the command handler). */
  fetchExchange?: ExchangeFetcher;
  onProgress?: (done: number, total: number) => void;
}

async function candlesOf(data: DataSpec, deps: ExecuteDeps): Promise<Candle[]> {
  if (data.source !== "exchange") return loadCandles(data);
  if (deps.fetchExchange === undefined) {
    throw new BacktestRefused(
      "exchange data cannot be fetched here (the command handler does no I/O): use the run_backtest tool, or send candles",
      "data",
      "data.unavailable",
    );
  }
  return deps.fetchExchange(data);
}

async function strategyDeps(
  strategy: StrategySpec,
  model: z.infer<typeof ModelRef> | undefined,
  candles: readonly Candle[],
): Promise<StrategyDeps> {
  if (strategy.kind !== "ml_signal") return {};
  if (model === undefined)
    throw new BacktestRefused(
      "the ml_signal strategy needs a model (model.onnxBase64, or model.version from the registry)",
      "model",
      "model.missing",
    );
  const probs = await scoreSeries(Buffer.from(model.onnxBase64, "base64"), candles);
  return { signals: seriesSignals(probs) };
}

export async function executeBacktest(
  request: BacktestRequest,
  deps: ExecuteDeps = {},
): Promise<BacktestResult> {
  const candles = await candlesOf(request.data, deps);
  const sdeps = await strategyDeps(request.strategy, request.model, candles);
  const { model: _model, ...spec } = request;
  return runBacktest(spec, candles, {
    ...sdeps,
    ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
  });
}

export async function executeWalkForward(
  request: WalkForwardRequest,
  deps: ExecuteDeps = {},
): Promise<WalkForwardResult> {
  const candles = await candlesOf(request.data, deps);
  const sdeps = await strategyDeps(request.strategy, request.model, candles);
  return walkForward(candles, request, sdeps);
}
