import { z } from "zod";
import { Candle, Timeframe, UnifiedSymbol } from "../domain/market.ts";
import { DEFAULT_FEES } from "../execution/fees.ts";
import { kelly } from "../risk/kelly.ts";
import { SimulatorParams } from "../market/simulator.ts";
import { ProtectionsSpec } from "../strategy/kernel-spec.ts";
import { StrategySpec } from "../strategy/spec.ts";
import { Money } from "../domain/bounds.ts";

/**
 * A backtest as data — what a `cmd.backtesting.run` command, the `run_backtest` tool and the walk-forward
 * runner accept. Every field has a default except the strategy.
 */
const series = { venue: z.string().min(1).default("import"), symbol: UnifiedSymbol, timeframe: Timeframe };

export const DataSpec = z.discriminatedUnion("source", [
  /** The seeded market simulator (core/market/simulator.ts): the offline default. */
  z.object({
    source: z.literal("simulated"),
    bars: z.number().int().min(2).max(2_000_000).default(10_000),
    params: SimulatorParams.default(SimulatorParams.parse({})),
  }),
  /** Candles inline. */
  z.object({ source: z.literal("candles"), candles: z.array(Candle).min(2) }),
  /** ccxt `fetchOHLCV` rows inline (`[ts, open, high, low, close, volume]`). */
  z.object({ source: z.literal("ohlcv"), ...series, rows: z.array(z.array(z.unknown())).min(2) }),
  /** CSV text: a Binance kline file or a plain OHLCV file with a header. */
  z.object({
    source: z.literal("csv"),
    format: z.enum(["binance_klines", "ohlcv"]),
    ...series,
    text: z.string().min(1),
  }),
  /** Fetched from an exchange through ccxt (with the local cache); only where the network is allowed. */
  z.object({
    source: z.literal("exchange"),
    exchange: z.enum(["binance"]).default("binance"),
    symbol: UnifiedSymbol,
    timeframe: Timeframe,
    since: z.number().int().nonnegative(),
    until: z.number().int().positive(),
  }),
]);
export type DataSpec = z.infer<typeof DataSpec>;

export const SizingSpec = z.discriminatedUnion("kind", [
  /** A full position (|target| = 1) takes `fraction` of equity. */
  z.object({ kind: z.literal("fixed"), fraction: z.number().positive().max(10).default(1) }),
  /** Fractional Kelly from core/risk/kelly.ts, on the given odds, capped at maxPositionSize. */
  z.object({
    kind: z.literal("kelly"),
    winProbability: z.number().min(0).max(1),
    winReturn: z.number().positive(),
    lossReturn: z.number().negative(),
    multiplier: z.number().positive().max(1).default(0.5),
    maxPositionSize: z.number().positive().max(10).default(1),
  }),
]);
export type SizingSpec = z.infer<typeof SizingSpec>;

/** The fraction of equity a full position takes under a sizing spec. */
export function sizingFraction(spec: SizingSpec): number {
  return spec.kind === "fixed" ? spec.fraction : kelly(spec).positionSize;
}

/** How orders are sized, filled and charged; shared by backtests and walk-forward runs. */
export const EngineSettings = z.object({
  initialCash: Money.default(10_000),
  fees: z
    .object({ maker: z.number().min(0).max(0.1), taker: z.number().min(0).max(0.1) })
    .default({ ...DEFAULT_FEES }),
  slippageBps: z.number().min(0).max(1_000).default(0),
  /** `book`: fill at the bar's close against the book the paper venue derives from it; `next_open`: at the next bar's open. */
  execution: z.enum(["book", "next_open"]).default("book"),
  sizing: SizingSpec.default({ kind: "fixed", fraction: 1 }),
  /** Bars before this index only warm the strategy up. */
  startIndex: z.number().int().nonnegative().default(0),
  /** Gaps in the data are refused, or reported in the result and traded through. */
  gaps: z.enum(["refuse", "report"]).default("report"),
  riskFreeRate: z.number().min(-1).max(1).default(0),
  /** The kernel's protections (stop loss, take profit, trailing stop, time limit, cooldown, drawdown lock). */
  protections: ProtectionsSpec.default({}),
});
export type EngineSettings = z.infer<typeof EngineSettings>;

export const BacktestSpec = EngineSettings.extend({
  data: DataSpec.default({ source: "simulated", bars: 10_000, params: SimulatorParams.parse({}) }),
  strategy: StrategySpec,
  /** Most points kept in the returned equity curve (evenly spaced, last point included). */
  equityPoints: z.number().int().min(2).max(1_000_000).default(2_000),
});
export type BacktestSpec = z.infer<typeof BacktestSpec>;
export type BacktestSpecInput = z.input<typeof BacktestSpec>;
