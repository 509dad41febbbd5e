import { z } from "zod";

/** Model versions are one subject token: letters, digits, `-` and `_`. */
export const ModelVersion = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_-]+$/, "letters, digits, - and _ only");

export const Metrics = z.object({
  accuracy: z.number(),
  logLoss: z.number(),
  auc: z.number(),
  n: z.number().int().nonnegative(),
  positiveRate: z.number(),
});

export const HmmParams = z.object({
  states: z.number().int().min(2),
  dims: z.number().int().min(1),
  initial: z.array(z.number()),
  transition: z.array(z.number()),
  means: z.array(z.number()),
  variances: z.array(z.number().positive()),
});

/**
 * What the model registry (KV `bot4_models`, key `model.<version>`) stores of each model. The artifact
 * (ONNX bytes) lives in the object store; `sha256` and `bytes` pin it, and anything that does not
 * hash to them is refused.
 */
export const ModelMetadata = z.object({
  version: ModelVersion,
  kind: z.enum(["logistic", "mlp"]),
  featureSet: z.string().min(1),
  features: z.array(z.string().min(1)).min(1),
  inputName: z.string().min(1),
  outputName: z.string().min(1),
  /** Bars ahead the label looked when training (1 = next bar). */
  horizon: z.number().int().positive(),
  metrics: z.object({ train: Metrics, validation: Metrics }),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().positive(),
  createdAt: z.iso.datetime({ offset: true }),
  trainedOn: z.object({
    source: z.string().min(1),
    bars: z.number().int().positive(),
    seed: z.string().optional(),
  }),
  /** Largest |ONNX − TypeScript| probability on the validation rows, checked before the model was stored. */
  parity: z.object({ rows: z.number().int().nonnegative(), maxAbsDiff: z.number().nonnegative() }).optional(),
  /** Regime model fitted on the same bars; labels ordered calm → volatile. */
  regime: z.object({ hmm: HmmParams, labels: z.array(z.string()) }).optional(),
});
export type ModelMetadata = z.infer<typeof ModelMetadata>;

/** The KV entry `deployed`: which version serves, since when, and what it replaced. */
export const DeployedModel = z.object({
  version: ModelVersion,
  deployedAt: z.iso.datetime({ offset: true }),
  previous: ModelVersion.optional(),
});
export type DeployedModel = z.infer<typeof DeployedModel>;
