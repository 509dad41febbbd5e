import { z } from "zod";
import { ModelVersion } from "../ml/model-meta.ts";
import { BacktestSpec } from "./spec.ts";
import { WalkForwardSpec } from "./walk-forward.ts";

/**
 * A backtest as it is requested (a `cmd.backtesting.run` command, the run_backtest and
 * run_walk_forward tools): the engine's spec plus the model an `ml_signal` strategy scores with.
 */
export const ModelRef = z.union([
  z.object({
    /** ONNX bytes (core/ml export), base64. */
    onnxBase64: z.string().min(16).max(20_000_000),
    /** The registry version the bytes were resolved from, when they were. */
    version: ModelVersion.optional(),
  }),
  /** A model of the registry (KV bot4_models + object store bot4_model_artifacts), verified by its sha256. */
  z.object({ version: ModelVersion }),
]);
export type ModelRef = z.infer<typeof ModelRef>;

export const BacktestRequest = BacktestSpec.extend({ model: ModelRef.optional() });
export type BacktestRequest = z.infer<typeof BacktestRequest>;
export type BacktestRequestInput = z.input<typeof BacktestRequest>;

export const WalkForwardRequest = WalkForwardSpec.extend({ model: ModelRef.optional() });
export type WalkForwardRequest = z.infer<typeof WalkForwardRequest>;
