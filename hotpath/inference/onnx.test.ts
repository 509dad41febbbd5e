import { describe, expect, it } from "vitest";
import { buildDataset, timeSplit } from "../../core/ml/dataset.ts";
import type { ModelMetadata } from "../../core/ml/model-meta.ts";
import { predictAll } from "../../core/ml/model.ts";
import { ONNX_INPUT, ONNX_OUTPUT, exportOnnx, readOnnxMetadata } from "../../core/ml/onnx-export.ts";
import { syntheticBars } from "../../core/ml/synthetic.ts";
import { trainOnBars } from "../../core/ml/train.ts";
import { checkRows } from "./engine.ts";
import { LoadedModel, ModelShapeError } from "./onnx-model.ts";
import { sha256 } from "../../adapters/nats/model-store.ts";
import { PARITY_TOLERANCE, runOnnx } from "./training.ts";

const bars = syntheticBars({ bars: 3_000, seed: "onnx", phi: 0.3 }).bars;
const rows = timeSplit(buildDataset(bars), 0.25).validation.x;

function metaOf(bytes: Uint8Array, features: readonly string[], version = "test-1"): ModelMetadata {
  const m = { accuracy: 0.5, logLoss: 0.69, auc: 0.5, n: 1, positiveRate: 0.5 };
  return {
    version,
    kind: "logistic",
    featureSet: "ta16",
    features: [...features],
    inputName: ONNX_INPUT,
    outputName: ONNX_OUTPUT,
    horizon: 1,
    metrics: { train: m, validation: m },
    sha256: sha256(bytes),
    bytes: bytes.length,
    createdAt: new Date().toISOString(),
    trainedOn: { source: "test", bars: bars.length },
  };
}

describe("ONNX export through real onnxruntime-node", () => {
  for (const kind of ["logistic", "mlp"] as const) {
    it(`${kind}: reproduces the TypeScript probabilities within ${PARITY_TOLERANCE} on ${rows.length} held-out rows`, async () => {
      const { model } = trainOnBars(bars, { kind, seed: 3, epochs: 5 });
      const bytes = exportOnnx(model, { version: `${kind}-v`, featureSet: "ta16" });
      const onnx = await runOnnx(bytes, rows, model.features.length);
      const ts = predictAll(model, rows);
      let worst = 0;
      for (let i = 0; i < ts.length; i++)
        worst = Math.max(worst, Math.abs((onnx[i] as number) - (ts[i] as number)));
      expect(onnx.length).toBe(rows.length);
      expect(worst).toBeLessThan(PARITY_TOLERANCE);
      // The model is not trivial: its probabilities actually vary across rows.
      expect(Math.max(...ts) - Math.min(...ts)).toBeGreaterThan(0.05);
      expect(readOnnxMetadata(bytes)).toMatchObject({ "bot4.version": `${kind}-v`, "bot4.kind": kind });
    });
  }

  it("coalesces 100 concurrent predictions into runs of at most MAX_INFERENCE_BATCH rows", async () => {
    const { model } = trainOnBars(bars, { kind: "logistic" });
    const bytes = exportOnnx(model, { version: "b", featureSet: "ta16" });
    const loaded = await LoadedModel.load(bytes, metaOf(bytes, model.features), { maxBatch: 32 });
    const some = rows.slice(0, 100);
    const got = await Promise.all(some.map((r) => loaded.predict(r)));
    const want = predictAll(model, some);
    const worst = Math.max(...got.map((p, i) => Math.abs(p - (want[i] as number))));
    expect(worst).toBeLessThan(PARITY_TOLERANCE);
    // The first call finds the model idle and runs alone; the 99 that arrive meanwhile leave in 32+32+32+3.
    expect(loaded.batcher.stats).toEqual({ runs: 5, rows: 100, largestBatch: 32 });
    await loaded.close();
  });

  it("refuses an artifact whose declared input does not match the metadata's feature list", async () => {
    const { model } = trainOnBars(bars, { kind: "logistic" });
    const bytes = exportOnnx(model, { version: "c", featureSet: "ta16" });
    const wrong = metaOf(bytes, model.features.slice(0, 15));
    await expect(LoadedModel.load(bytes, wrong, { maxBatch: 8 })).rejects.toThrow(ModelShapeError);
    await expect(LoadedModel.load(bytes, wrong, { maxBatch: 8 })).rejects.toThrow(
      /input shape is \[N, 16\], metadata declares 15 features/,
    );
  });

  it("rejects rows with a NaN, an infinity or the wrong width, naming the feature and the row", () => {
    const meta = metaOf(
      new Uint8Array([1]),
      Array.from({ length: 16 }, (_, i) => `f${i}`),
    );
    const good = Array.from({ length: 16 }, () => 0.1);
    expect(() => checkRows(meta, [good])).not.toThrow();
    const nan = good.slice();
    nan[3] = Number.NaN;
    expect(() => checkRows(meta, [good, nan])).toThrow(/rows\.1\.3: f3 is not a finite number \(NaN\)/);
    const inf = good.slice();
    inf[0] = Number.POSITIVE_INFINITY;
    expect(() => checkRows(meta, [inf, good.slice(1)])).toThrow(
      /rows\.0\.0: f0 is not a finite number \(Infinity\) \(and 1 more\)/,
    );
  });
});
