import { rejected } from "../../core/tools/errors.ts";
import { barsOf, type TrainingSource } from "./tools.ts";
import { trainArtifact } from "./training.ts";

/**
 * train_model's CPU work in the CPU pool (core/compute/pool.ts), inside a worker: the training data,
 * the fit, the ONNX export and the onnxruntime parity check. Storing the artifact (NATS) stays on the
 * main thread.
 */
interface TrainArgs {
  kind: "logistic" | "mlp";
  source: TrainingSource;
  horizon: number;
  validation_fraction: number;
  hidden?: number;
  epochs?: number;
  seed?: number | string;
}

export async function runInferenceTool({ tool, args }: { tool: string; args: unknown }): Promise<unknown> {
  if (tool !== "train_model") throw new Error(`no pooled inference tool ${tool}`);
  const a = args as TrainArgs;
  const { bars, label, seed } = barsOf(a.source);
  try {
    const { bytes, meta } = await trainArtifact(bars, {
      kind: a.kind,
      horizon: a.horizon,
      validationFraction: a.validation_fraction,
      source: label,
      ...(seed === undefined ? {} : { dataSeed: seed }),
      ...(a.hidden === undefined ? {} : { hidden: a.hidden }),
      ...(a.epochs === undefined ? {} : { epochs: a.epochs }),
      ...(a.seed === undefined ? {} : { seed: a.seed }),
    });
    return { bytes, meta };
  } catch (err) {
    if (err instanceof RangeError) throw rejected(err.message);
    throw err;
  }
}
