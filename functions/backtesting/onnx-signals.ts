import type { Candle } from "../../core/domain/market.ts";
import { ModelMismatchError } from "./refusals.ts";
import { computeFeatures, FEATURE_COUNT, FEATURES, featureSet } from "../../core/features/feature-set.ts";
import { ONNX_INPUT, ONNX_OUTPUT, readOnnxMetadata } from "../../core/ml/onnx-export.ts";
import { assertSelfContained } from "../../core/ml/onnx-guard.ts";
import { OnnxRunner } from "../../hotpath/kit/onnx.ts";

/**
 * The ONNX scorer of the ML-signal strategy, on the kit's one ONNX runner (hotpath/kit/onnx.ts). The model
 * must be an artifact of core/ml's export: input `features` float32 [N, 16] on the `ta16` feature set,
 * output `probability` float32 [N, 1]. Features come from core/features' `computeFeatures`, whose row
 * for bar i reads bars 0…i only (the inference service computes the same numbers live), so scoring the
 * whole series in one batch adds no look-ahead: the probability at bar i is what the live service
 * would have published when bar i closed.
 */
export { ModelMismatchError } from "./refusals.ts";

const BATCH = 8_192;

/** Checks the artifact's declared feature set against the one the backtester computes. */
export function checkModel(bytes: Uint8Array): Record<string, string> {
  assertSelfContained(bytes);
  let meta: Record<string, string>;
  try {
    meta = readOnnxMetadata(bytes);
  } catch (err) {
    throw new ModelMismatchError("the model is not a readable ONNX ModelProto", { cause: err });
  }
  const set = meta["bot4.feature_set"];
  if (set !== undefined && set !== featureSet.name) {
    throw new ModelMismatchError(
      `the model was trained on feature set "${set}", the backtester computes "${featureSet.name}"`,
    );
  }
  const features = meta["bot4.features"];
  if (features !== undefined && features !== FEATURES.join(",")) {
    throw new ModelMismatchError(
      `the model expects features [${features}], not the ${featureSet.name} order`,
    );
  }
  return meta;
}

/** Probability of an up move per bar (NaN while the features warm up), scored in batches. */
export async function scoreSeries(bytes: Uint8Array, candles: readonly Candle[]): Promise<Float64Array> {
  checkModel(bytes);
  const runner = await OnnxRunner.open(bytes, {
    inputName: ONNX_INPUT,
    outputName: ONNX_OUTPUT,
    width: FEATURE_COUNT,
    label: "the model",
  });
  try {
    const m = computeFeatures(candles);
    const probs = new Float64Array(candles.length).fill(Number.NaN);
    for (let k0 = 0; k0 < m.rows.length; k0 += BATCH) {
      const count = Math.min(BATCH, m.rows.length - k0);
      const input = new Float32Array(count * FEATURE_COUNT);
      for (let k = 0; k < count; k++) input.set(m.rows[k0 + k] as Float64Array, k * FEATURE_COUNT);
      const data = await runner.run(input, count);
      for (let k = 0; k < count; k++) probs[m.index[k0 + k] as number] = data[k] as number;
    }
    return probs;
  } finally {
    await runner.release();
  }
}

export { seriesSignals } from "./series-signals.ts";
