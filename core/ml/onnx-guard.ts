import onnxProto from "onnx-proto";

const { onnx } = onnxProto;
type Tensor = InstanceType<typeof onnx.TensorProto>;
type SparseTensor = InstanceType<typeof onnx.SparseTensorProto>;
type Graph = InstanceType<typeof onnx.GraphProto>;
type Node = InstanceType<typeof onnx.NodeProto>;

/** An ONNX model that is not self-contained (external data, a file reference) or not an ONNX model. */
export class UnsafeModelError extends Error {
  override name = "UnsafeModelError";
}

/** A model's artifact does not declare what its metadata says (input name, feature count, output). */
export class ModelShapeError extends Error {
  override name = "ModelShapeError";
}

const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;

/**
 * Refuses an ONNX model that would make onnxruntime read anything but the given bytes: a tensor
 * (initializer, sparse initializer, or a tensor attribute of any node, in the main graph, a subgraph
 * of If/Loop/Scan, or a model-local function) stored as EXTERNAL or carrying `external_data` entries
 * (`location` is a file path onnxruntime opens relative to its working directory). Both ONNX loaders
 * (the inference service and the backtester) call this before creating a session, so a model can
 * neither read a local file as weights nor probe whether one exists.
 */
export function assertSelfContained(bytes: Uint8Array): void {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new UnsafeModelError("the model is not a readable ONNX ModelProto", { cause: err });
  }
  const refs: string[] = [];
  const tensor = (t: Tensor | null | undefined, where: string) => {
    if (t === null || t === undefined) return;
    const location = t.externalData?.find((e) => e.key === "location")?.value;
    if (t.dataLocation === EXTERNAL || (t.externalData?.length ?? 0) > 0)
      refs.push(`${where} tensor "${t.name ?? ""}"${location ? ` → ${JSON.stringify(location)}` : ""}`);
  };
  const sparse = (t: SparseTensor | null | undefined, where: string) => {
    if (t === null || t === undefined) return;
    tensor(t.values as Tensor | null | undefined, where);
    tensor(t.indices as Tensor | null | undefined, where);
  };
  const nodes = (list: readonly Node[] | null | undefined, where: string) => {
    for (const n of list ?? []) {
      for (const a of n.attribute ?? []) {
        const at = `${where} node "${n.name ?? n.opType ?? ""}" attribute "${a.name ?? ""}"`;
        tensor(a.t as Tensor | null | undefined, at);
        for (const t of a.tensors ?? []) tensor(t as Tensor, at);
        sparse(a.sparseTensor as SparseTensor | null | undefined, at);
        for (const t of a.sparseTensors ?? []) sparse(t as SparseTensor, at);
        if (a.g !== null && a.g !== undefined) graph(a.g as Graph, `${at} subgraph`);
        for (const g of a.graphs ?? []) graph(g as Graph, `${at} subgraph`);
      }
    }
  };
  const graph = (g: Graph | null | undefined, where: string) => {
    if (g === null || g === undefined) return;
    for (const t of g.initializer ?? []) tensor(t as Tensor, `${where} initializer`);
    for (const t of g.sparseInitializer ?? []) sparse(t as SparseTensor, `${where} sparse initializer`);
    nodes(g.node as Node[] | null | undefined, where);
  };
  graph(model.graph as Graph | null | undefined, "graph");
  for (const f of model.functions ?? [])
    nodes(f.node as Node[] | null | undefined, `function "${f.name ?? ""}"`);
  if (refs.length > 0)
    throw new UnsafeModelError(
      `the model refers to external data (${refs.slice(0, 3).join("; ")}${refs.length > 3 ? `; ${refs.length - 3} more` : ""}): models load from their bytes only; embed every tensor in the model`,
    );
}
