import { z } from "zod";
import type { Candle } from "../domain/market.ts";
import { timeframeMs } from "../domain/market.ts";
import { SimulatorParams } from "../market/simulator.ts";
import { createStrategy, type StrategyDeps, StrategySpec } from "../strategy/spec.ts";
import { toProtections } from "../strategy/kernel-spec.ts";
import { runEngine } from "./engine.ts";
import { type BacktestMetrics, computeMetrics } from "./metrics.ts";
import { checkData } from "./backtest.ts";
import { DataSpec, EngineSettings, sizingFraction } from "./spec.ts";

/**
 * Parameter sweeps and walk-forward analysis.
 *
 * A sweep runs every combination of a parameter grid over one series. Walk-forward slides a window:
 * on each in-sample (IS) stretch every combination is run and the best by `objective` is picked; that
 * one alone is then run on the following out-of-sample (OOS) stretch (the strategy is warmed up on the
 * bars just before it, without trading). IS scores far above OOS scores are overfitting made visible.
 */
const GridValue = z.union([z.number(), z.boolean()]);

export const Objective = z.enum(["sharpe", "sortino", "total_return", "calmar"]);
export type Objective = z.infer<typeof Objective>;

export const WalkForwardSpec = EngineSettings.extend({
  data: DataSpec.default({ source: "simulated", bars: 20_000, params: SimulatorParams.parse({}) }),
  /** The base strategy: its kind and the parameters the grid does not vary. */
  strategy: StrategySpec,
  /** Parameter → values to try, e.g. `{ "fast": [5, 10], "slow": [20, 50] }`. */
  grid: z.record(z.string(), z.array(GridValue).min(1).max(50)),
  inSampleBars: z.number().int().min(10),
  outOfSampleBars: z.number().int().min(2),
  /** Bars the window moves each step (default: outOfSampleBars, so OOS stretches tile the series). */
  stepBars: z.number().int().min(1).optional(),
  objective: Objective.default("sharpe"),
});
export type WalkForwardSpec = z.infer<typeof WalkForwardSpec>;

export interface ComboScore {
  params: Record<string, number | boolean>;
  score: number | null;
  metrics: BacktestMetrics;
}

export interface WindowResult {
  index: number;
  inSample: { from: number; to: number };
  outOfSample: { from: number; to: number };
  best: Record<string, number | boolean>;
  inSampleScore: number | null;
  outOfSampleScore: number | null;
  inSampleMetrics: BacktestMetrics;
  outOfSampleMetrics: BacktestMetrics;
  /** Combinations the grid produced that the strategy refused (e.g. fast ≥ slow). */
  skipped: number;
}

export interface WalkForwardResult {
  objective: Objective;
  combinations: number;
  windows: WindowResult[];
  /** Means over windows (null scores left out). */
  meanInSample: number | null;
  meanOutOfSample: number | null;
  /** mean OOS / mean IS when the IS mean is positive: near 1 generalises, near or below 0 is overfitted. */
  efficiency: number | null;
  /** Compounded return of the OOS stretches back to back. */
  outOfSampleReturn: number;
}

/** Every combination of a grid, in a stable order (keys sorted). */
export function gridCombinations(
  grid: Record<string, readonly (number | boolean)[]>,
): Record<string, number | boolean>[] {
  let combos: Record<string, number | boolean>[] = [{}];
  for (const key of Object.keys(grid).sort()) {
    const values = grid[key] ?? [];
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  }
  return combos;
}

export function score(metrics: BacktestMetrics, objective: Objective): number | null {
  switch (objective) {
    case "sharpe":
      return metrics.sharpe;
    case "sortino":
      return metrics.sortino;
    case "total_return":
      return metrics.totalReturn;
    case "calmar":
      return metrics.calmar;
  }
}

/** Runs one strategy spec over `candles`, trading from `startIndex`. */
export function evaluate(
  candles: readonly Candle[],
  strategy: StrategySpec,
  settings: EngineSettings,
  startIndex: number,
  deps: StrategyDeps = {},
): BacktestMetrics {
  const run = runEngine(candles, createStrategy(strategy, deps), {
    initialCash: settings.initialCash,
    fill: { fees: settings.fees, slippageBps: settings.slippageBps },
    execution: settings.execution,
    sizing: { fraction: sizingFraction(settings.sizing) },
    startIndex,
    protections: toProtections(settings.protections),
  });
  return computeMetrics({
    initialEquity: settings.initialCash,
    equity: run.equity,
    barMs: timeframeMs[(candles[0] as Candle).timeframe],
    trades: run.trades,
    exposureBars: run.exposureBars,
    tradedNotional: run.tradedNotional,
    totalFees: run.totalFees,
    riskFreeRate: settings.riskFreeRate,
  });
}

/** The valid strategy specs of a grid around a base spec, and how many combinations were refused. */
export function gridSpecs(base: StrategySpec, grid: WalkForwardSpec["grid"]) {
  const specs: { params: Record<string, number | boolean>; spec: StrategySpec }[] = [];
  let skipped = 0;
  for (const params of gridCombinations(grid)) {
    const parsed = StrategySpec.safeParse({ ...base, ...params });
    if (parsed.success) specs.push({ params, spec: parsed.data });
    else skipped++;
  }
  return { specs, skipped };
}

/** Every grid combination over the whole series, best first. */
export function sweep(
  candles: readonly Candle[],
  spec: WalkForwardSpec,
  deps: StrategyDeps = {},
): ComboScore[] {
  checkData(candles, spec);
  const { specs } = gridSpecs(spec.strategy, spec.grid);
  return specs
    .map(({ params, spec: s }) => {
      const metrics = evaluate(candles, s, spec, 0, deps);
      return { params, metrics, score: score(metrics, spec.objective) };
    })
    .sort((a, b) => (b.score ?? Number.NEGATIVE_INFINITY) - (a.score ?? Number.NEGATIVE_INFINITY));
}

/** Deps whose signal source is indexed from `offset` (a window that starts at bar `offset` of the series). */
function shifted(deps: StrategyDeps, offset: number): StrategyDeps {
  const signals = deps.signals;
  if (signals === undefined || offset === 0) return deps;
  return { ...deps, signals: { probabilityAt: (i, bar) => signals.probabilityAt(i + offset, bar) } };
}

const mean = (xs: (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length === 0 ? null : v.reduce((a, b) => a + b, 0) / v.length;
};

export function walkForward(
  candles: readonly Candle[],
  spec: WalkForwardSpec,
  deps: StrategyDeps = {},
): WalkForwardResult {
  checkData(candles, spec);
  const { specs, skipped } = gridSpecs(spec.strategy, spec.grid);
  if (specs.length === 0) throw new RangeError("no valid parameter combination in the grid");
  const step = spec.stepBars ?? spec.outOfSampleBars;
  const n = candles.length;
  if (spec.inSampleBars + spec.outOfSampleBars > n) {
    throw new RangeError(
      `one window needs ${spec.inSampleBars + spec.outOfSampleBars} bars (in-sample + out-of-sample), the data has ${n}`,
    );
  }
  const windows: WindowResult[] = [];
  let oosGrowth = 1;
  for (
    let isStart = 0, w = 0;
    isStart + spec.inSampleBars + spec.outOfSampleBars <= n;
    isStart += step, w++
  ) {
    const isEnd = isStart + spec.inSampleBars;
    const oosEnd = isEnd + spec.outOfSampleBars;
    const inSample = candles.slice(isStart, isEnd);
    let best:
      | {
          params: Record<string, number | boolean>;
          spec: StrategySpec;
          score: number | null;
          metrics: BacktestMetrics;
        }
      | undefined;
    for (const combo of specs) {
      const metrics = evaluate(inSample, combo.spec, spec, 0, shifted(deps, isStart));
      const s = score(metrics, spec.objective);
      const better =
        best === undefined || (s ?? Number.NEGATIVE_INFINITY) > (best.score ?? Number.NEGATIVE_INFINITY);
      if (better) best = { ...combo, score: s, metrics };
    }
    const chosen = best as NonNullable<typeof best>;
    const warmup = createStrategy(chosen.spec, deps).warmup;
    const from = Math.max(0, isEnd - warmup);
    const oosMetrics = evaluate(
      candles.slice(from, oosEnd),
      chosen.spec,
      spec,
      isEnd - from,
      shifted(deps, from),
    );
    oosGrowth *= 1 + oosMetrics.totalReturn;
    windows.push({
      index: w,
      inSample: { from: (candles[isStart] as Candle).ts, to: (candles[isEnd - 1] as Candle).ts },
      outOfSample: { from: (candles[isEnd] as Candle).ts, to: (candles[oosEnd - 1] as Candle).ts },
      best: chosen.params,
      inSampleScore: chosen.score,
      outOfSampleScore: score(oosMetrics, spec.objective),
      inSampleMetrics: chosen.metrics,
      outOfSampleMetrics: oosMetrics,
      skipped,
    });
  }
  const meanIs = mean(windows.map((w) => w.inSampleScore));
  const meanOos = mean(windows.map((w) => w.outOfSampleScore));
  return {
    objective: spec.objective,
    combinations: specs.length,
    windows,
    meanInSample: meanIs,
    meanOutOfSample: meanOos,
    efficiency: meanIs !== null && meanOos !== null && meanIs > 0 ? meanOos / meanIs : null,
    outOfSampleReturn: oosGrowth - 1,
  };
}
