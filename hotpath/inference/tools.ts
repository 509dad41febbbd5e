import { z } from "zod";
import { type Bar, computeFeatures, featureSet } from "../../core/features/feature-set.ts";
import { Bar as BarSchema } from "../../core/domain/market.ts";
import { fitHmm, posteriors, regimeLabels, regimeObservations, viterbi } from "../../core/ml/hmm.ts";
import { ModelVersion, type ModelMetadata } from "../../core/ml/model-meta.ts";
import { syntheticBars } from "../../core/ml/synthetic.ts";
import { simulateCandles } from "../../core/market/simulator.ts";
import { DataSpec } from "../../core/backtest/spec.ts";
import { loadMarketData, type MarketDataAccess } from "../../adapters/ccxt/market-data.ts";
import { MarketDataError } from "../../core/market/validate.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { failure, rejected, ToolError } from "../../core/tools/errors.ts";
import { defineTool, type Tool } from "../../core/tools/tool.ts";
import type { InferenceEngine } from "./engine.ts";
import { ArtifactIntegrityError, type ModelStore, UnknownModelError } from "../../core/ports/model-store.ts";
import { type PoolCallOptions, runPooled } from "../../core/compute/pool.ts";
import type { TrainedArtifact } from "./training.ts";

/** The module whose `runInferenceTool` runs train_model in the CPU pool. */
const HEAVY_MODULE = new URL("./heavy.ts", import.meta.url).href;

/** Probabilities within this distance of 0.5 give a flat signal. */
export const DEADBAND = 0.02;
export const directionOf = (p: number): "long" | "short" | "flat" =>
  p > 0.5 + DEADBAND ? "long" : p < 0.5 - DEADBAND ? "short" : "flat";

/** One OHLCV bar (a Candle fits; venue, symbol and timeframe are not needed here). */
export const BarInput = BarSchema;

const barSeries = (min: number, max: number) =>
  z
    .array(BarInput)
    .min(min, `need at least ${min} bars`)
    .max(max)
    .superRefine((bars, ctx) => {
      for (let i = 1; i < bars.length; i++) {
        if ((bars[i] as Bar).ts <= (bars[i - 1] as Bar).ts) {
          ctx.addIssue({
            code: "custom",
            path: [i, "ts"],
            message: "bars must be in strictly increasing time order",
          });
          return;
        }
      }
    });

const MetricsOut = z.object({ accuracy: z.number(), log_loss: z.number(), auc: z.number(), n: z.number() });
const ModelSummary = z.object({
  version: z.string(),
  kind: z.string(),
  feature_set: z.string(),
  features: z.array(z.string()),
  sha256: z.string(),
  bytes: z.number(),
  created_at: z.string(),
  trained_on: z.object({ source: z.string(), bars: z.number() }),
  validation: MetricsOut,
  train: MetricsOut,
  onnx_max_abs_diff: z.number().optional(),
  deployed: z.boolean(),
});

const metricsOut = (m: ModelMetadata["metrics"]["train"]) => ({
  accuracy: m.accuracy,
  log_loss: m.logLoss,
  auc: m.auc,
  n: m.n,
});
const summary = (m: ModelMetadata, deployed: string | undefined): z.input<typeof ModelSummary> => ({
  version: m.version,
  kind: m.kind,
  feature_set: m.featureSet,
  features: m.features,
  sha256: m.sha256,
  bytes: m.bytes,
  created_at: m.createdAt,
  trained_on: { source: m.trainedOn.source, bars: m.trainedOn.bars },
  validation: metricsOut(m.metrics.validation),
  train: metricsOut(m.metrics.train),
  ...(m.parity === undefined ? {} : { onnx_max_abs_diff: m.parity.maxAbsDiff }),
  deployed: m.version === deployed,
});

/** Where training bars come from. */
export const TrainingSource = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("simulator"),
    bars: z.number().int().min(200).max(200_000).default(5_000),
    seed: z.union([z.number().int(), z.string().min(1)]).default(1),
    symbol: z.string().min(1).default("BTC/USDT"),
  }),
  z.object({
    type: z.literal("synthetic"),
    bars: z.number().int().min(200).max(200_000).default(5_000),
    seed: z.union([z.number().int(), z.string().min(1)]).default(1),
    /** AR(1) coefficient of returns: the planted, learnable signal. */
    phi: z.number().min(-0.9).max(0.9).default(0.2),
  }),
  z.object({ type: z.literal("candles"), candles: barSeries(200, 200_000) }),
]);
export type TrainingSource = z.infer<typeof TrainingSource>;

export function barsOf(source: TrainingSource): { bars: Bar[]; label: string; seed?: string } {
  switch (source.type) {
    case "simulator":
      return {
        bars: simulateCandles({ seed: source.seed, symbol: source.symbol }, source.bars),
        label: `simulator:${source.symbol}`,
        seed: String(source.seed),
      };
    case "synthetic":
      return {
        bars: syntheticBars({ bars: source.bars, seed: source.seed, phi: source.phi }).bars,
        label: `synthetic:phi=${source.phi}`,
        seed: String(source.seed),
      };
    case "candles":
      return { bars: source.candles, label: "candles" };
  }
}

/** A label for the registry's `trained_on.source`, naming the series a model learned from. */
export function dataLabel(data: DataSpec): string {
  switch (data.source) {
    case "simulated":
      return `simulated:${data.params.symbol}:${data.params.timeframe}:seed=${data.params.seed}`;
    case "exchange":
      return `exchange:${data.exchange}:${data.symbol}:${data.timeframe}:${new Date(data.since).toISOString()}..${new Date(data.until).toISOString()}`;
    case "csv":
      return `csv:${data.format}:${data.venue}:${data.symbol}:${data.timeframe}`;
    case "ohlcv":
      return `ohlcv:${data.venue}:${data.symbol}:${data.timeframe}`;
    case "candles":
      return "candles";
  }
}

export interface ToolDeps {
  engine: InferenceEngine;
  store: ModelStore;
  /** Where exchange candles are fetched and cached (the backtester's loader, adapters/ccxt). */
  marketData?: MarketDataAccess;
  /** CPU pool settings of train_model (deadline, threads). */
  pool?: PoolCallOptions;
}

/** Training bars from the backtester's data spec, through the shared loader (adapters/ccxt/market-data.ts). */
async function barsOfData(data: DataSpec, access: MarketDataAccess | undefined): Promise<Bar[]> {
  try {
    return await loadMarketData(data, access);
  } catch (err) {
    if (err instanceof ToolError) throw err;
    if (err instanceof MarketDataError) throw failure(RpcCode.Rejected, "data", "data.invalid", err.message);
    throw err;
  }
}

export function inferenceTools({ engine, store, marketData, pool = {} }: ToolDeps): Tool[] {
  const extractFeatures = defineTool({
    name: "extract_features",
    description: `Computes the ${featureSet.name} feature set (${featureSet.features.length} features) of a bar series; a row exists from bar ${featureSet.warmup} on`,
    input: z.object({
      candles: barSeries(featureSet.warmup, 100_000),
      last_only: z.boolean().default(false),
    }),
    output: z.object({
      feature_set: z.string(),
      features: z.array(z.string()),
      rows: z.array(z.object({ ts: z.number(), values: z.array(z.number()) })),
    }),
    handler: ({ candles, last_only }) => {
      const m = computeFeatures(candles);
      const rows = m.rows.map((r, k) => ({ ts: m.ts[k] as number, values: Array.from(r) }));
      return {
        feature_set: featureSet.name,
        features: [...m.features],
        rows: last_only ? rows.slice(-1) : rows,
      };
    },
  });

  const predict = defineTool({
    name: "predict",
    description:
      "Probability of an up move from the deployed (or a named) model. Give exactly one of: features (one row, as an array in the model's order or an object by name), rows (many), or candles (predicts the last bar)",
    input: z
      .object({
        features: z.union([z.array(z.number()), z.record(z.string(), z.number())]).optional(),
        rows: z.array(z.array(z.number())).min(1).max(10_000).optional(),
        candles: barSeries(featureSet.warmup, 10_000).optional(),
        model_version: ModelVersion.optional(),
      })
      .refine((a) => [a.features, a.rows, a.candles].filter((x) => x !== undefined).length === 1, {
        message: "give exactly one of features, rows or candles",
      }),
    output: z.object({
      model_version: z.string(),
      probabilities: z.array(z.number()),
      directions: z.array(z.enum(["long", "short", "flat"])),
    }),
    handler: async (args) => {
      const model = await engine.model(args.model_version);
      let rows: (readonly number[] | Float64Array)[];
      if (args.rows !== undefined) rows = args.rows;
      else if (args.candles !== undefined) {
        const m = computeFeatures(args.candles);
        if (featureSet.name !== model.meta.featureSet)
          throw rejected(
            `model ${model.version} uses feature set ${model.meta.featureSet}, not ${featureSet.name}`,
          );
        rows = m.rows.slice(-1);
      } else if (Array.isArray(args.features)) rows = [args.features];
      else rows = [byName(args.features ?? {}, model.meta)];
      const out = await engine.predict(rows, model.version);
      return {
        model_version: out.version,
        probabilities: out.probabilities,
        directions: out.probabilities.map(directionOf),
      };
    },
  });

  const trainModel = defineTool({
    name: "train_model",
    description:
      "Trains a logistic regression or a small MLP on next-bar direction with a time-ordered split, exports ONNX (checked against the TypeScript model), and stores it in the registry; deploy: true also deploys it",
    input: z
      .object({
        kind: z.enum(["logistic", "mlp"]).default("logistic"),
        source: TrainingSource.optional().describe(
          "built-in series (simulator, synthetic, candles); default the simulator",
        ),
        data: DataSpec.optional().describe(
          "the backtester's data spec: simulated, candles, ohlcv, csv, or exchange candles through the ccxt cache",
        ),
        horizon: z.number().int().min(1).max(100).default(1),
        validation_fraction: z.number().min(0.05).max(0.5).default(0.25),
        hidden: z.number().int().min(1).max(128).optional(),
        epochs: z.number().int().min(1).max(200).optional(),
        seed: z.union([z.number().int(), z.string().min(1)]).optional(),
        deploy: z.boolean().default(false),
      })
      .strict(),
    output: ModelSummary,
    handler: async (args) => {
      if (args.source !== undefined && args.data !== undefined) {
        throw new ToolError(RpcCode.InvalidParams, "give source or data, not both", {
          issues: [{ path: "data", message: "give source or data, not both", code: "custom" }],
        });
      }
      // Data from the backtester's sources is loaded here (I/O); generating built-in series, the fit,
      // the ONNX export and the parity check run in the CPU pool; storing the artifact stays here.
      const data =
        args.data !== undefined
          ? { bars: await barsOfData(args.data, marketData), label: dataLabel(args.data) }
          : {
              source: args.source ?? { type: "simulator" as const, bars: 5_000, seed: 1, symbol: "BTC/USDT" },
            };
      const { data: _spec, source: _source, ...rest } = args;
      const trained = (await runPooled(
        HEAVY_MODULE,
        "runInferenceTool",
        { tool: "train_model", args: { ...rest, ...data } },
        "train_model",
        pool,
      )) as Pick<TrainedArtifact, "bytes" | "meta">;
      const meta: ModelMetadata = await store.save(trained.bytes, trained.meta);
      if (args.deploy) {
        await store.deploy(meta.version);
        await engine.activate(meta.version);
      }
      return summary(meta, engine.deployed);
    },
  });

  const deployModel = defineTool({
    name: "deploy_model",
    description:
      "Promotes a stored model version: its artifact must verify against the registry's sha256; every running instance hot-swaps to it",
    input: z.object({ version: ModelVersion }).strict(),
    output: z.object({ deployed: z.string(), previous: z.string().optional(), deployed_at: z.string() }),
    handler: async ({ version }) => {
      try {
        const pointer = await store.deploy(version);
        await engine.activate(version);
        return {
          deployed: pointer.version,
          deployed_at: pointer.deployedAt,
          ...(pointer.previous === undefined ? {} : { previous: pointer.previous }),
        };
      } catch (err) {
        if (err instanceof UnknownModelError)
          throw rejected(err.message, { version, cause: "model", code: "model.unknown" });
        if (err instanceof ArtifactIntegrityError)
          throw rejected(err.message, {
            version,
            expected: err.expected,
            actual: err.actual,
            cause: "model",
            code: "model.integrity",
          });
        throw err;
      }
    },
  });

  const listModels = defineTool({
    name: "list_models",
    description: "Lists the model registry: versions, features, metrics, hashes, and which is deployed",
    input: z.object({}),
    output: z.object({ deployed: z.string().optional(), models: z.array(ModelSummary) }),
    handler: async () => {
      const deployed = (await store.deployed())?.version;
      const models = await store.list();
      return {
        ...(deployed === undefined ? {} : { deployed }),
        models: models.map((m) => summary(m, deployed)),
      };
    },
  });

  const detectRegime = defineTool({
    name: "detect_regime",
    description:
      "Fits a Gaussian HMM (Baum–Welch) on log returns and log bar ranges, and returns the Viterbi regime path with posterior probabilities; regimes are ordered calm → volatile",
    input: z.object({
      candles: barSeries(61, 50_000),
      states: z.number().int().min(2).max(4).default(2),
      max_iterations: z.number().int().min(1).max(500).default(100),
    }),
    output: z.object({
      labels: z.array(z.string()),
      current: z.object({ regime: z.number(), label: z.string(), probabilities: z.array(z.number()) }),
      path: z.array(
        z.object({
          ts: z.number(),
          regime: z.number(),
          label: z.string(),
          probabilities: z.array(z.number()),
        }),
      ),
      states: z.array(
        z.object({
          label: z.string(),
          mean_return: z.number(),
          return_volatility: z.number(),
          persistence: z.number(),
        }),
      ),
      log_likelihood: z.number(),
      iterations: z.number(),
      converged: z.boolean(),
    }),
    handler: ({ candles, states, max_iterations }) => {
      const obs = regimeObservations(candles);
      const fit = fitHmm(obs, { states, maxIterations: max_iterations });
      const labels = regimeLabels(states);
      const path = viterbi(fit.model, obs);
      const post = posteriors(fit.model, obs);
      const out = path.map((s, t) => ({
        ts: (candles[t + 1] as Bar).ts,
        regime: s,
        label: labels[s] as string,
        probabilities: post[t] as number[],
      }));
      const D = fit.model.dims;
      return {
        labels,
        current: out.at(-1) as (typeof out)[number],
        path: out,
        states: labels.map((label, k) => ({
          label,
          mean_return: fit.model.means[k * D] as number,
          return_volatility: Math.sqrt(fit.model.variances[k * D] as number),
          persistence: fit.model.transition[k * states + k] as number,
        })),
        log_likelihood: fit.logLikelihood,
        iterations: fit.iterations,
        converged: fit.converged,
      };
    },
  });

  return [extractFeatures, predict, trainModel, deployModel, listModels, detectRegime];
}

/** A row from `{ feature: value }`, in the model's order; missing and unknown names are errors. */
function byName(values: Record<string, number>, meta: ModelMetadata): number[] {
  const missing = meta.features.filter((f) => !(f in values));
  const unknown = Object.keys(values).filter((k) => !meta.features.includes(k));
  if (missing.length > 0 || unknown.length > 0) {
    throw rejected(
      `features do not match model ${meta.version}: ${[
        missing.length > 0 ? `missing ${missing.join(", ")}` : "",
        unknown.length > 0 ? `unknown ${unknown.join(", ")}` : "",
      ]
        .filter(Boolean)
        .join("; ")}`,
      { missing, unknown },
    );
  }
  return meta.features.map((f) => values[f] as number);
}
