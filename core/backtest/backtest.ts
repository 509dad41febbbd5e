import { z } from "zod";
import type { Candle } from "../domain/market.ts";
import { timeframeMs } from "../domain/market.ts";
import { fromCcxtOhlcv, parseBinanceKlinesCsv, parseOhlcvCsv } from "../market/loaders.ts";
import { simulateCandles } from "../market/simulator.ts";
import { type DataReport, MarketDataError, validateCandles } from "../market/validate.ts";
import { toProtections } from "../strategy/kernel-spec.ts";
import { createStrategy, type StrategyDeps } from "../strategy/spec.ts";
import { runEngine } from "./engine.ts";
import { BacktestMetrics, computeMetrics } from "./metrics.ts";
import { type BacktestSpec, type DataSpec, type EngineSettings, sizingFraction } from "./spec.ts";

/**
 * One backtest from a spec: load (pure sources) → validate → strategy → engine → metrics → result.
 * The exchange source needs I/O and is resolved by the caller (functions/backtesting), which then
 * passes the candles in.
 */
export const TradeSchema = z.object({
  direction: z.enum(["long", "short"]),
  entryBar: z.number().int(),
  exitBar: z.number().int(),
  entryTs: z.number().int(),
  exitTs: z.number().int(),
  entryPrice: z.number(),
  exitPrice: z.number(),
  amount: z.number(),
  fees: z.number(),
  pnl: z.number(),
  return: z.number(),
});

export const FillSchema = z.object({
  order: z.number().int(),
  bar: z.number().int(),
  ts: z.number().int(),
  side: z.enum(["buy", "sell"]),
  amount: z.number(),
  price: z.number(),
  fee: z.number(),
  liquidity: z.enum(["maker", "taker"]),
});

export const BacktestSummary = z.object({
  strategy: z.string(),
  venue: z.string(),
  symbol: z.string(),
  timeframe: z.string(),
  /** Open time of the first traded bar and close time of the last. */
  from: z.number().int(),
  to: z.number().int(),
  metrics: BacktestMetrics,
  missingBars: z.number().int().nonnegative(),
  orders: z.number().int().nonnegative(),
  fills: z.number().int().nonnegative(),
});
export type BacktestSummary = z.infer<typeof BacktestSummary>;

export const BacktestResult = BacktestSummary.extend({
  spec: z.unknown(),
  dataIssues: z.array(z.object({ kind: z.string(), index: z.number(), ts: z.number(), message: z.string() })),
  equityCurve: z.array(z.object({ ts: z.number().int(), equity: z.number() })),
  trades: z.array(TradeSchema),
  openTrade: TradeSchema.optional(),
  fillList: z.array(FillSchema),
  finalPosition: z.number(),
});
export type BacktestResult = z.infer<typeof BacktestResult>;

/** Candles of a pure data source (everything but `exchange`). */
export function loadCandles(data: DataSpec): Candle[] {
  switch (data.source) {
    case "simulated":
      return simulateCandles(data.params, data.bars);
    case "candles":
      return data.candles;
    case "ohlcv":
      return fromCcxtOhlcv(data.rows, data);
    case "csv":
      return data.format === "binance_klines"
        ? parseBinanceKlinesCsv(data.text, data)
        : parseOhlcvCsv(data.text, data);
    case "exchange":
      throw new MarketDataError(
        "exchange data must be fetched by the caller (ccxt) and passed in as candles",
      );
  }
}

export interface RunDeps extends StrategyDeps {
  onProgress?: (done: number, total: number) => void;
}

/** Validates the candles (throws MarketDataError) and returns the report. */
export function checkData(candles: readonly Candle[], settings: Pick<EngineSettings, "gaps">): DataReport {
  const first = candles[0];
  if (first === undefined) throw new MarketDataError("no market data");
  return validateCandles(candles, first.timeframe, { gaps: settings.gaps, minBars: 2 });
}

function downsample(
  candles: readonly Candle[],
  start: number,
  equity: Float64Array,
  points: number,
  barMs: number,
) {
  const n = equity.length;
  const m = Math.min(points, n);
  const out: { ts: number; equity: number }[] = [];
  for (let k = 0; k < m; k++) {
    const i = m === 1 ? n - 1 : Math.round((k * (n - 1)) / (m - 1));
    out.push({ ts: (candles[start + i] as Candle).ts + barMs, equity: equity[i] as number });
  }
  return out;
}

export function runBacktest(
  spec: BacktestSpec,
  candles: readonly Candle[],
  deps: RunDeps = {},
): BacktestResult {
  const report = checkData(candles, spec);
  const first = candles[0] as Candle;
  const barMs = timeframeMs[first.timeframe];
  if (spec.startIndex >= candles.length) {
    throw new MarketDataError(`startIndex ${spec.startIndex} is past the last bar (${candles.length} bars)`);
  }
  const strategy = createStrategy(spec.strategy, deps);
  const run = runEngine(candles, strategy, {
    initialCash: spec.initialCash,
    fill: { fees: spec.fees, slippageBps: spec.slippageBps },
    execution: spec.execution,
    sizing: { fraction: sizingFraction(spec.sizing) },
    startIndex: spec.startIndex,
    protections: toProtections(spec.protections),
    ...(deps.onProgress !== undefined ? { onProgress: deps.onProgress } : {}),
  });
  const metrics = computeMetrics({
    initialEquity: spec.initialCash,
    equity: run.equity,
    barMs,
    trades: run.trades,
    exposureBars: run.exposureBars,
    tradedNotional: run.tradedNotional,
    totalFees: run.totalFees,
    riskFreeRate: spec.riskFreeRate,
  });
  const result: BacktestResult = {
    strategy: strategy.name,
    venue: first.venue,
    symbol: first.symbol,
    timeframe: first.timeframe,
    from: (candles[run.startIndex] as Candle).ts,
    to: (candles[candles.length - 1] as Candle).ts + barMs,
    metrics,
    missingBars: report.missingBars,
    orders: run.orders,
    fills: run.fills.length,
    spec: { ...spec, data: describeData(spec.data) },
    dataIssues: report.issues.map((i) => ({ kind: i.kind, index: i.index, ts: i.ts, message: i.message })),
    equityCurve: downsample(candles, run.startIndex, run.equity, spec.equityPoints, barMs),
    trades: run.trades,
    fillList: run.fills,
    finalPosition: run.finalPosition,
  };
  if (run.openTrade !== undefined) result.openTrade = run.openTrade;
  return result;
}

/** The data spec without bulky inline payloads (stored with the result). */
export function describeData(data: DataSpec): unknown {
  switch (data.source) {
    case "candles":
      return { source: "candles", bars: data.candles.length };
    case "ohlcv":
      return {
        source: "ohlcv",
        venue: data.venue,
        symbol: data.symbol,
        timeframe: data.timeframe,
        bars: data.rows.length,
      };
    case "csv":
      return {
        source: "csv",
        format: data.format,
        venue: data.venue,
        symbol: data.symbol,
        timeframe: data.timeframe,
      };
    default:
      return data;
  }
}

/** The summary of a result (what `backtest.completed` carries). */
export function summarize(result: BacktestResult): BacktestSummary {
  return BacktestSummary.parse(result);
}
