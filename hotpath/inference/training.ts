import { randomBytes } from "node:crypto";
import * as ort from "onnxruntime-node";
import type { Bar } from "../../core/features/feature-set.ts";
import { buildDataset, timeSplit } from "../../core/ml/dataset.ts";
import { fitHmm, regimeLabels, regimeObservations } from "../../core/ml/hmm.ts";
import type { ModelMetadata } from "../../core/ml/model-meta.ts";
import { predictAll } from "../../core/ml/model.ts";
import { ONNX_INPUT, ONNX_OUTPUT, exportOnnx } from "../../core/ml/onnx-export.ts";
import { type TrainOptions, type TrainResult, trainOnBars } from "../../core/ml/train.ts";
import type { ModelStore } from "../../core/ports/model-store.ts";

/** The largest difference between ONNX and TypeScript probabilities tolerated before a model is stored. */
export const PARITY_TOLERANCE = 1e-5;

export class ParityError extends Error {
  override name = "ParityError";
}

/** A new version name: `<kind>-<UTC yyyymmddhhmmss>-<4 random hex bytes>`. */
export function newVersion(kind: string, now = new Date()): string {
  const stamp = now
    .toISOString()
    .replaceAll(/[-:TZ.]/g, "")
    .slice(0, 14);
  return `${kind}-${stamp}-${randomBytes(4).toString("hex")}`;
}

/** Runs ONNX bytes on rows through onnxruntime-node (float32 in, float32 out). */
export async function runOnnx(
  bytes: Uint8Array,
  rows: readonly ArrayLike<number>[],
  width: number,
): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const input = new Float32Array(rows.length * width);
    rows.forEach((r, i) => {
      for (let j = 0; j < width; j++) input[i * width + j] = r[j] as number;
    });
    const out = await session.run({ [ONNX_INPUT]: new ort.Tensor("float32", input, [rows.length, width]) });
    return (out[ONNX_OUTPUT] as ort.Tensor).data as Float32Array;
  } finally {
    await session.release();
  }
}

export interface TrainAndStoreOptions extends TrainOptions {
  source: string;
  /** The seed the training bars were generated with, recorded in the metadata. */
  dataSeed?: string;
  /** Fit a regime HMM on the same bars and store it with the model. Default true. */
  regimes?: boolean;
}

/** A trained, exported and parity-checked model, not stored yet. */
export interface TrainedArtifact {
  bytes: Uint8Array;
  meta: Omit<ModelMetadata, "sha256" | "bytes">;
  result: TrainResult;
}

/**
 * Trains on bars, exports ONNX, checks that onnxruntime reproduces the TypeScript probabilities on the
 * validation rows within {@link PARITY_TOLERANCE}, fits the regime HMM, and stores artifact + metadata.
 */
export async function trainAndStore(
  store: ModelStore,
  bars: readonly Bar[],
  options: TrainAndStoreOptions,
): Promise<{ meta: ModelMetadata; result: TrainResult }> {
  const artifact = await trainArtifact(bars, options);
  return { meta: await store.save(artifact.bytes, artifact.meta), result: artifact.result };
}

/** The CPU part of {@link trainAndStore}: no I/O, so it can run in the CPU pool. */
export async function trainArtifact(
  bars: readonly Bar[],
  options: TrainAndStoreOptions,
): Promise<TrainedArtifact> {
  const result = trainOnBars(bars, options);
  const version = newVersion(result.model.kind);
  const bytes = exportOnnx(result.model, { version, featureSet: result.featureSet });
  const data = buildDataset(bars, result.horizon);
  const { validation } = timeSplit(data, options.validationFraction ?? 0.25, result.horizon);
  const width = result.model.features.length;
  const onnx = await runOnnx(bytes, validation.x, width);
  const ts = predictAll(result.model, validation.x);
  let maxAbsDiff = 0;
  for (let i = 0; i < ts.length; i++)
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs((onnx[i] as number) - (ts[i] as number)));
  if (!(maxAbsDiff <= PARITY_TOLERANCE))
    throw new ParityError(
      `exported ONNX differs from the TypeScript model by ${maxAbsDiff} (> ${PARITY_TOLERANCE})`,
    );
  let regime: ModelMetadata["regime"];
  if (options.regimes !== false) {
    const fit = fitHmm(regimeObservations(bars), { states: 2, maxIterations: 50 });
    regime = { hmm: fit.model, labels: regimeLabels(2) };
  }
  const meta: TrainedArtifact["meta"] = {
    version,
    kind: result.model.kind,
    featureSet: result.featureSet,
    features: [...result.model.features],
    inputName: ONNX_INPUT,
    outputName: ONNX_OUTPUT,
    horizon: result.horizon,
    metrics: result.metrics,
    createdAt: new Date().toISOString(),
    trainedOn: {
      source: options.source,
      bars: bars.length,
      ...(options.dataSeed === undefined ? {} : { seed: options.dataSeed }),
    },
    parity: { rows: ts.length, maxAbsDiff },
    ...(regime === undefined ? {} : { regime }),
  };
  return { bytes, meta, result };
}
