import * as ort from "onnxruntime-node";
import { assertSelfContained, ModelShapeError } from "../../core/ml/onnx-guard.ts";

/** What a scorer must declare: input float32 [N, width] named `inputName`, an output `outputName`. */
export interface OnnxSignature {
  inputName: string;
  outputName: string;
  width: number;
  /** Names the model in errors, e.g. `model v3`. */
  label: string;
}

/**
 * Bot4's one ONNX runner (onnxruntime-node stays out of core). The bytes are checked self-contained
 * before onnxruntime sees them (core/ml/onnx-guard.ts), the session is single-threaded so a scorer does
 * not starve its process, and its declared input and output are checked against the signature
 * (ModelShapeError). The inference service's micro-batched models and the backtester's series scorer
 * both run through it.
 */
export class OnnxRunner {
  private constructor(
    readonly signature: OnnxSignature,
    readonly session: ort.InferenceSession,
  ) {}

  static async open(bytes: Uint8Array, signature: OnnxSignature): Promise<OnnxRunner> {
    assertSelfContained(bytes);
    const session = await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: "all",
      executionMode: "sequential",
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
    try {
      checkShape(session, signature);
    } catch (err) {
      await session.release();
      throw err;
    }
    return new OnnxRunner(signature, session);
  }

  /** Scores `rows` rows of `signature.width` values laid out row after row; one output value per row. */
  async run(input: Float32Array, rows: number): Promise<Float32Array> {
    const { inputName, outputName, width, label } = this.signature;
    const out = await this.session.run({ [inputName]: new ort.Tensor("float32", input, [rows, width]) });
    const tensor = out[outputName];
    if (tensor === undefined) throw new ModelShapeError(`${label} produced no "${outputName}"`);
    return tensor.data as Float32Array;
  }

  /** Frees the native session. */
  release(): Promise<void> {
    return this.session.release();
  }
}

function checkShape(session: ort.InferenceSession, s: OnnxSignature): void {
  const input = session.inputMetadata.find((m) => m.name === s.inputName);
  if (input === undefined || !input.isTensor)
    throw new ModelShapeError(
      `${s.label} has no tensor input "${s.inputName}" (has ${session.inputNames.join(", ")})`,
    );
  if (input.type !== "float32") throw new ModelShapeError(`${s.label} input is ${input.type}, not float32`);
  if (input.shape.length !== 2 || input.shape[1] !== s.width)
    throw new ModelShapeError(
      `${s.label} input shape is [${input.shape.join(", ")}], metadata declares ${s.width} features`,
    );
  if (!session.outputNames.includes(s.outputName))
    throw new ModelShapeError(`${s.label} has no output "${s.outputName}"`);
}
