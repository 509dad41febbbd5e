import type { Bar } from "../../core/domain/market.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { failure } from "../../core/tools/errors.ts";
import { barsOf, type TrainingSource } from "./tools.ts";
import { trainArtifact } from "./training.ts";

/**
 * train_model's CPU work in the CPU pool (core/compute/pool.ts), inside a worker: the training data,
 * the fit, the ONNX export and the onnxruntime parity check. Storing the artifact (NATS) stays on the
 * main thread.
 */
interface TrainArgs {
  kind: "logistic" | "mlp";
  /** A built-in series to generate here, or bars the main thread loaded (with their label). */
  source?: TrainingSource;
  bars?: Bar[];
  label?: string;
  horizon: number;
  validation_fraction: number;
  hidden?: number;
  epochs?: number;
  seed?: number | string;
}

export async function runInferenceTool({ tool, args }: { tool: string; args: unknown }): Promise<unknown> {
  if (tool !== "train_model") throw new Error(`no pooled inference tool ${tool}`);
  const a = args as TrainArgs;
  const { bars, label, seed } =
    a.bars !== undefined
      ? { bars: a.bars, label: a.label ?? "candles", seed: undefined }
      : barsOf(a.source ?? { type: "simulator", bars: 5_000, seed: 1, symbol: "BTC/USDT" });
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
    if (err instanceof RangeError) throw failure(RpcCode.Rejected, "data", "data.insufficient", err.message);
    throw err;
  }
}
