import onnxProto from "onnx-proto";
import type { Model } from "./model.ts";

const { onnx } = onnxProto;

/** The names every exported model uses: a float32 [N, features] input and a float32 [N, 1] output. */
export const ONNX_INPUT = "features";
export const ONNX_OUTPUT = "probability";
export const ONNX_OPSET = 13;
const IR_VERSION = 8;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

function tensor(name: string, dims: number[], values: readonly number[]) {
  return onnx.TensorProto.create({ name, dims, dataType: FLOAT, floatData: [...values] });
}

function node(op: string, inputs: string[], output: string) {
  return onnx.NodeProto.create({ opType: op, input: inputs, output: [output], name: output });
}

function valueInfo(name: string, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

export interface ExportInfo {
  /** Written into the model's metadata_props so the artifact names what it expects. */
  version: string;
  featureSet: string;
}

/**
 * Writes a trained model as an ONNX graph (opset 13) with the standardisation baked in:
 * `features → Sub(mean) → Div(std) → MatMul → Add → [Tanh → MatMul → Add] → Sigmoid → probability`.
 * Pure: returns the serialised ModelProto bytes.
 */
export function exportOnnx(model: Model, info: ExportInfo): Uint8Array {
  const f = model.features.length;
  const initializer = [tensor("mean", [f], model.scaler.mean), tensor("std", [f], model.scaler.std)];
  const nodes = [node("Sub", [ONNX_INPUT, "mean"], "centred"), node("Div", ["centred", "std"], "z")];
  if (model.kind === "logistic") {
    initializer.push(tensor("W", [f, 1], model.weights), tensor("b", [1], [model.bias]));
    nodes.push(node("MatMul", ["z", "W"], "zw"), node("Add", ["zw", "b"], "logit"));
  } else {
    const h = model.hidden;
    initializer.push(
      tensor("W1", [f, h], model.w1),
      tensor("b1", [h], model.b1),
      tensor("W2", [h, 1], model.w2),
      tensor("b2", [1], [model.b2]),
    );
    nodes.push(
      node("MatMul", ["z", "W1"], "zw1"),
      node("Add", ["zw1", "b1"], "pre"),
      node("Tanh", ["pre"], "hidden"),
      node("MatMul", ["hidden", "W2"], "hw2"),
      node("Add", ["hw2", "b2"], "logit"),
    );
  }
  nodes.push(node("Sigmoid", ["logit"], ONNX_OUTPUT));
  const proto = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: "", version: ONNX_OPSET }],
    producerName: "bot4",
    producerVersion: "1",
    docString: `${model.kind} on feature set ${info.featureSet}`,
    graph: {
      name: `bot4_${model.kind}`,
      node: nodes,
      initializer,
      input: [valueInfo(ONNX_INPUT, ["N", f])],
      output: [valueInfo(ONNX_OUTPUT, ["N", 1])],
    },
    metadataProps: [
      { key: "bot4.version", value: info.version },
      { key: "bot4.kind", value: model.kind },
      { key: "bot4.feature_set", value: info.featureSet },
      { key: "bot4.features", value: model.features.join(",") },
    ],
  });
  return onnx.ModelProto.encode(proto).finish();
}

/** Reads the bot4 metadata_props back from ONNX bytes (throws on bytes that are not a ModelProto). */
export function readOnnxMetadata(bytes: Uint8Array): Record<string, string> {
  const proto = onnx.ModelProto.decode(bytes);
  const out: Record<string, string> = {};
  for (const p of proto.metadataProps)
    if (p.key && p.value !== null && p.value !== undefined) out[p.key] = p.value;
  return out;
}
