import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import { definition } from "../functions/backtesting/function.ts";
import { scoreSeries } from "../functions/backtesting/onnx-signals.ts";
import { functionRegistry, functionToolDeps } from "../core/functions/tool-deps.ts";
import { loadConfig } from "../core/config.ts";
import { exportOnnx } from "../core/ml/onnx-export.ts";
import { assertSelfContained, UnsafeModelError } from "../core/ml/onnx-guard.ts";
import { syntheticBars } from "../core/ml/synthetic.ts";
import { trainOnBars } from "../core/ml/train.ts";
import { RpcCode } from "../core/protocol/jsonrpc.ts";
import { quietLogger } from "../core/telemetry/log.ts";
import { LoadedModel } from "../hotpath/inference/onnx-model.ts";
import type { ModelMetadata } from "../core/ml/model-meta.ts";

const { onnx } = onnxProto;
const bars = syntheticBars({ bars: 1_500, seed: "bytes-only", phi: 0.3 }).bars;
const { model } = trainOnBars(bars, { kind: "logistic", seed: 1 });
const good = exportOnnx(model, { version: "ext-test", featureSet: "ta16" });

/** The same model with its first initializer moved to external data at `location`. */
function externalised(location: string, where: "initializer" | "attribute" = "initializer"): Uint8Array {
  const proto = onnx.ModelProto.decode(good);
  const graph = proto.graph as InstanceType<typeof onnx.GraphProto>;
  const external = {
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: "location", value: location },
      { key: "offset", value: "0" },
      { key: "length", value: "64" },
    ],
  };
  if (where === "initializer") {
    const t = graph.initializer[0] as InstanceType<typeof onnx.TensorProto>;
    Object.assign(t, external, { floatData: [] });
  } else {
    // A Constant node whose tensor attribute points outside the model.
    graph.node.unshift(
      onnx.NodeProto.create({
        opType: "Constant",
        output: ["c0"],
        name: "c0",
        attribute: [
          {
            name: "value",
            type: onnx.AttributeProto.AttributeType.TENSOR,
            t: onnx.TensorProto.create({ name: "c0", dims: [1], dataType: 1, ...external }),
          },
        ],
      }),
    );
  }
  return onnx.ModelProto.encode(proto).finish();
}

const m = { accuracy: 0.5, logLoss: 0.7, auc: 0.5, n: 1, positiveRate: 0.5 };
const meta: ModelMetadata = {
  version: "ext-test",
  kind: "logistic",
  featureSet: "ta16",
  features: [...model.features],
  inputName: "features",
  outputName: "probability",
  horizon: 1,
  metrics: { train: m, validation: m },
  sha256: "0".repeat(64),
  bytes: good.length,
  createdAt: new Date().toISOString(),
  trainedOn: { source: "test", bars: bars.length },
};

describe("ONNX models load from their bytes only", () => {
  it("accepts a self-contained model and refuses external data, naming the file", () => {
    expect(() => assertSelfContained(good)).not.toThrow();
    expect(() => assertSelfContained(externalised("package.json"))).toThrow(UnsafeModelError);
    expect(() => assertSelfContained(externalised("package.json"))).toThrow(
      /external data \(graph initializer tensor "mean" → "package.json"\).*bytes only/,
    );
    expect(() => assertSelfContained(externalised("/etc/passwd", "attribute"))).toThrow(
      /attribute "value".*\/etc\/passwd/,
    );
    expect(() => assertSelfContained(new Uint8Array([1, 2, 3, 255, 255]))).toThrow(UnsafeModelError);
  });

  it("is the check of the inference loader and the backtester's scorer alike, whether the file exists or not", async () => {
    for (const location of ["package.json", "no-such-file.bin"]) {
      const bytes = externalised(location);
      await expect(LoadedModel.load(bytes, meta, { maxBatch: 8 })).rejects.toThrow(UnsafeModelError);
      await expect(scoreSeries(bytes, [])).rejects.toThrow(UnsafeModelError);
    }
    // The good model still loads.
    const loaded = await LoadedModel.load(good, meta, { maxBatch: 8 });
    await loaded.close();
  });

  it("makes run_backtest refuse such a model with a clear refusal (-32003), the same for a missing file", async () => {
    const config = loadConfig({});
    const registry = functionRegistry(
      definition,
      functionToolDeps(definition, {
        config,
        logger: quietLogger(),
        bus: async () => {
          throw new Error("no bus in this test");
        },
      }),
    );
    const ctx = { requestId: "r", correlationId: "c", transport: "local" as const, logger: quietLogger() };
    const args = (bytes: Uint8Array) => ({
      data: { source: "simulated", bars: 500 },
      strategy: { kind: "ml_signal" },
      model: { onnx_base64: Buffer.from(bytes).toString("base64") },
    });
    const answers = [];
    for (const location of ["package.json", "no-such-file.bin"]) {
      const err = await registry
        .call("run_backtest", args(externalised(location)), ctx)
        .catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: RpcCode.Rejected,
        message: expect.stringMatching(/external data.*bytes only/),
      });
      answers.push((err as Error).message.replace(location, "<file>"));
    }
    // Whether the file exists makes no difference to the answer: nothing can be probed.
    expect(answers[0]).toBe(answers[1]);
  });
});
