import type { ModelMetadata } from "../../core/ml/model-meta.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import { ToolError, rejected } from "../../core/tools/errors.ts";
import { LoadedModel } from "./onnx-model.ts";
import { ArtifactIntegrityError, type ModelStore, UnknownModelError } from "../../core/ports/model-store.ts";

export interface EngineOptions {
  /** Loaded sessions kept (MODEL_CACHE_SIZE); the least recently used one is released beyond it. */
  cacheSize: number;
  /** Rows per session.run (MAX_INFERENCE_BATCH). */
  maxBatch: number;
  windowMs?: number;
  logger: Logger;
  onBatch?: (rows: number, seconds: number) => void;
}

/** A prediction and the model version that made it. */
export interface Prediction {
  version: string;
  probabilities: number[];
}

/**
 * Serves predictions: an LRU of loaded models (keyed by version), the deployed version, and the
 * input checks. Unknown versions, corrupt artifacts and wrong rows become ToolErrors that say what
 * is wrong.
 */
export class InferenceEngine {
  private readonly cache = new Map<string, Promise<LoadedModel>>();
  private deployedVersion: string | undefined;
  private deployedModelMeta: ModelMetadata | undefined;

  constructor(
    private readonly store: ModelStore,
    private readonly options: EngineOptions,
  ) {}

  get deployed(): string | undefined {
    return this.deployedVersion;
  }

  /** Metadata of the deployed model (features, regime HMM), available synchronously. */
  get deployedMeta(): ModelMetadata | undefined {
    return this.deployedModelMeta;
  }

  get loadedVersions(): string[] {
    return [...this.cache.keys()];
  }

  /** Loads (verifying the hash) and switches the deployed version; the old one keeps serving on failure. */
  async activate(version: string): Promise<ModelMetadata> {
    const model = await this.model(version);
    const previous = this.deployedVersion;
    this.deployedVersion = version;
    this.deployedModelMeta = model.meta;
    if (previous !== version) this.options.logger.info({ version, previous }, "deployed model switched");
    return model.meta;
  }

  /** The loaded model of a version (default: the deployed one), loading it on a miss. */
  async model(version?: string): Promise<LoadedModel> {
    const v = version ?? this.deployedVersion;
    if (v === undefined)
      throw rejected("no model is deployed yet: train one with train_model and deploy it with deploy_model", {
        cause: "model",
        code: "model.missing",
      });
    const hit = this.cache.get(v);
    if (hit !== undefined) {
      this.cache.delete(v);
      this.cache.set(v, hit);
      return hit;
    }
    const loading = this.loadVerified(v);
    this.cache.set(v, loading);
    loading.catch(() => {
      if (this.cache.get(v) === loading) this.cache.delete(v);
    });
    this.evict();
    return loading;
  }

  private async loadVerified(version: string): Promise<LoadedModel> {
    try {
      const { meta, bytes } = await this.store.load(version);
      return await LoadedModel.load(bytes, meta, {
        maxBatch: this.options.maxBatch,
        ...(this.options.windowMs === undefined ? {} : { windowMs: this.options.windowMs }),
        ...(this.options.onBatch === undefined ? {} : { onBatch: this.options.onBatch }),
      });
    } catch (err) {
      if (err instanceof UnknownModelError)
        throw new ToolError(RpcCode.InvalidParams, err.message, {
          model_version: version,
          cause: "model",
          code: "model.unknown",
        });
      if (err instanceof ArtifactIntegrityError)
        throw rejected(err.message, {
          model_version: version,
          expected: err.expected,
          actual: err.actual,
          cause: "model",
          code: "model.integrity",
        });
      throw err;
    }
  }

  private evict(): void {
    while (this.cache.size > this.options.cacheSize) {
      const oldest = [...this.cache.keys()].find((k) => k !== this.deployedVersion);
      if (oldest === undefined) return;
      const model = this.cache.get(oldest);
      this.cache.delete(oldest);
      void model
        ?.then((m) => m.close())
        .catch((err: unknown) =>
          this.options.logger.warn({ err, version: oldest }, "unloading a model failed"),
        );
    }
  }

  /** Checks rows against the model's declared features, then predicts them through the batcher. */
  async predict(rows: readonly (readonly number[] | Float64Array)[], version?: string): Promise<Prediction> {
    const model = await this.model(version);
    checkRows(model.meta, rows);
    const probabilities = await Promise.all(rows.map((r) => model.predict(r)));
    return { version: model.version, probabilities };
  }

  async close(): Promise<void> {
    const models = [...this.cache.values()];
    this.cache.clear();
    await Promise.all(models.map((m) => m.then((x) => x.close()).catch(() => undefined)));
  }
}

/** Every row has exactly the model's feature count of finite numbers, or an InvalidParams error says where not. */
export function checkRows(meta: ModelMetadata, rows: readonly ArrayLike<number>[]): void {
  const width = meta.features.length;
  const issues: { path: string; message: string; code: string }[] = [];
  rows.forEach((row, i) => {
    if (row.length !== width) {
      issues.push({
        path: `rows.${i}`,
        message: `expected ${width} features (${meta.featureSet}: ${meta.features.join(", ")}), got ${row.length}`,
        code: "feature_count",
      });
      return;
    }
    for (let j = 0; j < width; j++) {
      if (!Number.isFinite(row[j] as number))
        issues.push({
          path: `rows.${i}.${j}`,
          message: `${meta.features[j]} is not a finite number (${row[j]})`,
          code: "not_finite",
        });
    }
  });
  if (issues.length > 0) {
    const first = issues[0] as { path: string; message: string };
    throw new ToolError(
      RpcCode.InvalidParams,
      `invalid input for model ${meta.version}: ${first.path}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ""}`,
      { issues },
    );
  }
}
