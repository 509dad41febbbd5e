import * as ort from "onnxruntime-node";
import type { ModelMetadata } from "../../core/ml/model-meta.ts";
import { assertSelfContained } from "../../core/ml/onnx-guard.ts";
import { MicroBatcher } from "./batcher.ts";

/** A model's artifact does not declare what its metadata says (input name, feature count, output). */
export class ModelShapeError extends Error {
  override name = "ModelShapeError";
}

export interface LoadOptions {
  maxBatch: number;
  /** Extra wait for more rows before a run; 0 = next event-loop turn. */
  windowMs?: number;
  onBatch?: (rows: number, seconds: number) => void;
}

/**
 * An onnxruntime-node session loaded from bytes, checked against its registry metadata (the input is
 * float32 [N, features.length], the output float32 [N, 1]), with a micro-batcher in front.
 */
export class LoadedModel {
  private closed = false;
  private constructor(
    readonly meta: ModelMetadata,
    readonly session: ort.InferenceSession,
    readonly batcher: MicroBatcher,
  ) {}

  static async load(bytes: Uint8Array, meta: ModelMetadata, options: LoadOptions): Promise<LoadedModel> {
    assertSelfContained(bytes);
    const session = await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: "all",
      executionMode: "sequential",
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
    try {
      checkShape(session, meta);
    } catch (err) {
      await session.release();
      throw err;
    }
    const width = meta.features.length;
    const run = async (input: Float32Array, rows: number) => {
      const out = await session.run({ [meta.inputName]: new ort.Tensor("float32", input, [rows, width]) });
      const tensor = out[meta.outputName];
      if (tensor === undefined)
        throw new ModelShapeError(`model ${meta.version} produced no "${meta.outputName}"`);
      return tensor.data as Float32Array;
    };
    const batcher = new MicroBatcher(run, width, options.maxBatch, options.windowMs ?? 0, options.onBatch);
    return new LoadedModel(meta, session, batcher);
  }

  get version(): string {
    return this.meta.version;
  }

  /** Probability of an up move for one row of `meta.features.length` finite numbers (checked by the caller). */
  predict(row: ArrayLike<number>): Promise<number> {
    if (this.closed) return Promise.reject(new Error(`model ${this.meta.version} was unloaded`));
    return this.batcher.submit(row);
  }

  /** Waits for queued work, then frees the native session. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.batcher.idle();
    await this.session.release();
  }
}

function checkShape(session: ort.InferenceSession, meta: ModelMetadata): void {
  const input = session.inputMetadata.find((m) => m.name === meta.inputName);
  if (input === undefined || !input.isTensor)
    throw new ModelShapeError(
      `model ${meta.version} has no tensor input "${meta.inputName}" (has ${session.inputNames.join(", ")})`,
    );
  if (input.type !== "float32")
    throw new ModelShapeError(`model ${meta.version} input is ${input.type}, not float32`);
  const width = input.shape[1];
  if (input.shape.length !== 2 || width !== meta.features.length)
    throw new ModelShapeError(
      `model ${meta.version} input shape is [${input.shape.join(", ")}], metadata declares ${meta.features.length} features`,
    );
  if (!session.outputNames.includes(meta.outputName))
    throw new ModelShapeError(`model ${meta.version} has no output "${meta.outputName}"`);
}
