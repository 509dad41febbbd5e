import type { ModelMetadata } from "../../core/ml/model-meta.ts";
import { OnnxRunner } from "../kit/onnx.ts";
import { MicroBatcher } from "./batcher.ts";

export { ModelShapeError } from "../../core/ml/onnx-guard.ts";

export interface LoadOptions {
  maxBatch: number;
  /** Extra wait for more rows before a run; 0 = next event-loop turn. */
  windowMs?: number;
  onBatch?: (rows: number, seconds: number) => void;
}

/**
 * A model of the registry on the kit's ONNX runner, checked against its metadata (the input is
 * float32 [N, features.length], the output float32 [N, 1]), with a micro-batcher in front.
 */
export class LoadedModel {
  private closed = false;
  private constructor(
    readonly meta: ModelMetadata,
    readonly runner: OnnxRunner,
    readonly batcher: MicroBatcher,
  ) {}

  static async load(bytes: Uint8Array, meta: ModelMetadata, options: LoadOptions): Promise<LoadedModel> {
    const width = meta.features.length;
    const runner = await OnnxRunner.open(bytes, {
      inputName: meta.inputName,
      outputName: meta.outputName,
      width,
      label: `model ${meta.version}`,
    });
    const run = (input: Float32Array, rows: number) => runner.run(input, rows);
    const batcher = new MicroBatcher(run, width, options.maxBatch, options.windowMs ?? 0, options.onBatch);
    return new LoadedModel(meta, runner, batcher);
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
    await this.runner.release();
  }
}
