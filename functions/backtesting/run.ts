import { type BacktestResult, loadCandles, runBacktest } from "../../core/backtest/backtest.ts";
import type { BacktestRequest, ModelRef, WalkForwardRequest } from "../../core/backtest/request.ts";
import type { DataSpec } from "../../core/backtest/spec.ts";
import { type WalkForwardResult, walkForward } from "../../core/backtest/walk-forward.ts";
import type { Candle } from "../../core/domain/market.ts";
import type { StrategyDeps, StrategySpec } from "../../core/strategy/spec.ts";
import { scoreSeries, seriesSignals } from "./onnx-signals.ts";
import { BacktestRefused } from "./refusals.ts";

/**
 * The backtesting function's use cases: resolve the data (pure sources in core, the exchange through
 * an injected fetcher), score the ONNX model when the strategy is `ml_signal`, then run core's engine.
 */
export {
  BacktestRequest,
  type BacktestRequestInput,
  ModelRef,
  WalkForwardRequest,
} from "../../core/backtest/request.ts";

export type ExchangeData = Extract<DataSpec, { source: "exchange" }>;
export type ExchangeFetcher = (data: ExchangeData) => Promise<Candle[]>;

export { BacktestRefused } from "./refusals.ts";

export interface ExecuteDeps {
  /** Fetches exchange data; absent where no I/O is allowed (the command handler). */
  fetchExchange?: ExchangeFetcher;
  /** Reads a registry model's verified ONNX bytes; absent where no I/O is allowed. */
  loadModel?: (version: string) => Promise<Uint8Array>;
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

/** The model's bytes: inline, or read from the registry by version (where I/O is allowed). */
async function modelBytes(model: ModelRef, deps: ExecuteDeps): Promise<Uint8Array> {
  if ("onnxBase64" in model) return Buffer.from(model.onnxBase64, "base64");
  if (deps.loadModel === undefined) {
    throw new BacktestRefused(
      `model ${model.version} cannot be read from the registry here (the command handler does no I/O): submit it with submit_backtest, which resolves the version`,
      "model",
      "model.unavailable",
    );
  }
  return deps.loadModel(model.version);
}

/** Per-bar up-probabilities of the ml_signal strategy's model (undefined for other strategies). */
export async function mlProbabilities(
  strategy: StrategySpec,
  model: ModelRef | undefined,
  candles: readonly Candle[],
  deps: ExecuteDeps,
): Promise<Float64Array | undefined> {
  if (strategy.kind !== "ml_signal") return undefined;
  if (model === undefined)
    throw new BacktestRefused(
      "the ml_signal strategy needs a model (model.onnxBase64, or model.version from the registry)",
      "model",
      "model.missing",
    );
  return scoreSeries(await modelBytes(model, deps), candles);
}

async function strategyDeps(
  strategy: StrategySpec,
  model: ModelRef | undefined,
  candles: readonly Candle[],
  deps: ExecuteDeps,
): Promise<StrategyDeps> {
  const probs = await mlProbabilities(strategy, model, candles, deps);
  return probs === undefined ? {} : { signals: seriesSignals(probs) };
}

export async function executeBacktest(
  request: BacktestRequest,
  deps: ExecuteDeps = {},
): Promise<BacktestResult> {
  const candles = await candlesOf(request.data, deps);
  const sdeps = await strategyDeps(request.strategy, request.model, candles, deps);
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
  const sdeps = await strategyDeps(request.strategy, request.model, candles, deps);
  return walkForward(candles, request, sdeps);
}

/** The candles of a request's data (exchange data only through `deps.fetchExchange`). */
export { candlesOf };
