import { type ServiceAgent, findAgent } from "../../core/agents/manifest.ts";
import { marketDataAccess } from "../../adapters/ccxt/market-data.ts";
import { Counter, Gauge, Histogram } from "../../core/telemetry/metrics.ts";
import { createToolRegistry } from "../../core/tools/registry.ts";
import { startService } from "../kit/service.ts";
import type { RunningService, ServeOptions, ServiceDeps } from "../kit/types.ts";
import { InferenceEngine } from "./engine.ts";
import { NatsModelStore } from "../../adapters/nats/model-store.ts";
import { type SignalLoop, startSignalLoop } from "./signals.ts";
import { type TrainingSource, barsOf, inferenceTools } from "./tools.ts";
import { trainAndStore } from "./training.ts";
import { poolOptionsOf } from "../../core/compute/pool.ts";

const agent = findAgent("inference") as ServiceAgent;

/**
 * What the first start trains when the registry has no deployed model (~1 s): a seeded series with
 * structure a model can find — AR(1) returns with φ = 0.3 (each bar's standardised return carries 0.3
 * of the previous one: next-bar momentum the ta16 return features see) under two volatility regimes.
 * Its validation AUC is ≈ 0.6 where chance is 0.5, shown by list_models. The simulator's default
 * market (what the paper venue trades) is a random walk with regime drift: a model trained there
 * scores at chance (AUC ≈ 0.49), because there is nothing next-bar to learn.
 */
export const BOOTSTRAP_SOURCE: TrainingSource = {
  type: "synthetic",
  bars: 5_000,
  seed: 1,
  phi: 0.3,
};

export interface InferenceOptions {
  /** Training source for the first model when none is deployed; false starts without one (not ready). */
  bootstrap?: TrainingSource | false;
  /** Extra wait (ms) for more rows before a batch runs; default 0 (next event-loop turn). */
  batchWindowMs?: number;
}

/**
 * The MLEngineer service (`inference`, :8082): features, ONNX inference with micro-batching, training
 * and the model registry, regime detection, and signals from MARKET candles.
 */
export function start(deps: ServiceDeps, options?: ServeOptions): Promise<RunningService> {
  return startInference(deps, options);
}

export async function startInference(
  deps: ServiceDeps,
  options: ServeOptions = {},
  inference: InferenceOptions = {},
): Promise<RunningService> {
  const logger = deps.logger;
  const store = await NatsModelStore.open(deps.bus);
  let batchRows: Histogram | undefined;
  let batchSeconds: Histogram | undefined;
  const engine = new InferenceEngine(store, {
    cacheSize: deps.config.MODEL_CACHE_SIZE,
    maxBatch: deps.config.MAX_INFERENCE_BATCH,
    logger,
    ...(inference.batchWindowMs === undefined ? {} : { windowMs: inference.batchWindowMs }),
    onBatch: (rows, seconds) => {
      batchRows?.observe(rows);
      batchSeconds?.observe(seconds);
    },
  });

  let deployed = await store.deployed();
  const bootstrap = inference.bootstrap ?? BOOTSTRAP_SOURCE;
  if (deployed === undefined && bootstrap !== false) {
    const started = performance.now();
    const { bars, label, seed } = barsOf(bootstrap);
    const { meta } = await trainAndStore(store, bars, {
      kind: "logistic",
      source: label,
      ...(seed === undefined ? {} : { dataSeed: seed }),
    });
    deployed = await store.deployIfAbsent(meta.version);
    logger.info(
      {
        version: meta.version,
        deployed: deployed.version,
        ms: Math.round(performance.now() - started),
        validation: meta.metrics.validation,
      },
      "no model was deployed: trained and deployed a first one",
    );
  }
  if (deployed !== undefined) {
    await engine
      .activate(deployed.version)
      .catch((err: unknown) =>
        logger.error(
          { err, version: deployed?.version },
          "the deployed model could not be loaded; not ready",
        ),
      );
  }
  const stopWatch = await store.watchDeployed(
    async (pointer) => {
      await engine.activate(pointer.version);
    },
    (err) => logger.error({ err }, "hot-swap refused: keeping the current model"),
  );

  let signalsTotal: Counter | undefined;
  let loop: SignalLoop | undefined;
  try {
    loop = await startSignalLoop({
      bus: deps.bus,
      engine,
      logger,
      source: agent.name,
      liveFrom: Date.now(),
      onSignal: (s) => signalsTotal?.inc({ direction: s.direction }),
    });
    return await startService(
      {
        agent,
        registry: createToolRegistry(
          agent.name,
          inferenceTools({
            engine,
            store,
            marketData: marketDataAccess(deps.config),
            pool: poolOptionsOf(deps.config),
          }),
        ),
        ready: () => engine.deployed !== undefined,
        metrics: (registry) => {
          batchRows = new Histogram({
            name: "bot4_inference_batch_rows",
            help: "Rows per session.run (micro-batch size)",
            buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
            registers: [registry],
          });
          batchSeconds = new Histogram({
            name: "bot4_inference_batch_seconds",
            help: "Duration of one session.run",
            buckets: [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.1],
            registers: [registry],
          });
          signalsTotal = new Counter({
            name: "bot4_inference_signals_total",
            help: "Signals published, by direction",
            labelNames: ["direction"] as const,
            registers: [registry],
          });
          new Gauge({
            name: "bot4_inference_models_loaded",
            help: "Model sessions held in the LRU cache",
            registers: [registry],
            collect() {
              this.set(engine.loadedVersions.length);
            },
          });
        },
        onStop: async () => {
          stopWatch();
          await loop?.stop();
          await engine.close();
        },
      },
      deps,
      options,
    );
  } catch (err) {
    stopWatch();
    await loop?.stop();
    await engine.close();
    throw err;
  }
}
