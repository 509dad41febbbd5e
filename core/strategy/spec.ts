import { z } from "zod";
import { featureSet } from "../features/feature-set.ts";
import { bollingerReversion } from "./bollinger.ts";
import { maCrossover } from "./ma-crossover.ts";
import { mlSignal } from "./ml-signal.ts";
import { momentum } from "./momentum.ts";
import type { SignalSource, Strategy } from "./strategy.ts";

/** The built-in strategies as data: what a backtest command, a tool call or a live config names. */
const allowShort = z.boolean().default(false);
const bars = (max: number) => z.number().int().min(1).max(max);

export const MaCrossoverSpec = z
  .object({
    kind: z.literal("ma_crossover"),
    fast: bars(10_000).default(10),
    slow: bars(50_000).default(30),
    allowShort,
  })
  .refine((s) => s.fast < s.slow, { message: "fast must be shorter than slow", path: ["fast"] });

export const BollingerSpec = z.object({
  kind: z.literal("bollinger"),
  period: z.number().int().min(2).max(50_000).default(20),
  stdDevs: z.number().positive().max(10).default(2),
  allowShort,
});

export const MomentumSpec = z.object({
  kind: z.literal("momentum"),
  lookback: bars(50_000).default(20),
  threshold: z.number().min(0).max(10).default(0),
  allowShort,
});

export const MlSignalSpec = z
  .object({
    kind: z.literal("ml_signal"),
    longAbove: z.number().min(0).max(1).default(0.55),
    shortBelow: z.number().min(0).max(1).default(0.45),
    allowShort,
  })
  .refine((s) => s.shortBelow <= s.longAbove, {
    message: "short_below must be ≤ long_above",
    path: ["shortBelow"],
  });

export const StrategySpec = z.discriminatedUnion("kind", [
  MaCrossoverSpec,
  BollingerSpec,
  MomentumSpec,
  MlSignalSpec,
]);
export type StrategySpec = z.infer<typeof StrategySpec>;
export type StrategyKind = StrategySpec["kind"];
/** The catalogue's kinds, read from the union: a new spec brings its kind, nothing is spelled twice. */
export const strategyKinds = StrategySpec.options.map((o) => o.shape.kind.value) as [
  StrategyKind,
  ...StrategyKind[],
];

export interface StrategyDeps {
  /** Required by `ml_signal`. */
  signals?: SignalSource;
}

/** A fresh strategy instance for a spec (instances carry state: one per run). */
export function createStrategy(spec: StrategySpec, deps: StrategyDeps = {}): Strategy {
  switch (spec.kind) {
    case "ma_crossover":
      return maCrossover(spec);
    case "bollinger":
      return bollingerReversion(spec);
    case "momentum":
      return momentum(spec);
    case "ml_signal": {
      if (deps.signals === undefined)
        throw new Error("the ml_signal strategy needs a signal source (a model)");
      return mlSignal(spec, deps.signals, featureSet.warmup);
    }
  }
}
