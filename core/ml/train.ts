import { type Bar, featureSet } from "../features/feature-set.ts";
import { buildDataset, fitScaler, timeSplit } from "./dataset.ts";
import { type ClassificationMetrics, classificationMetrics } from "./metrics.ts";
import { type Model, type ModelKind, predictAll, trainLogistic, trainMlp } from "./model.ts";

export interface TrainOptions {
  kind: ModelKind;
  /** Bars ahead the label looks (1 = next-bar direction). */
  horizon?: number;
  /** Share of the most recent rows held out for validation. */
  validationFraction?: number;
  seed?: number | string;
  /** MLP only. */
  hidden?: number;
  epochs?: number;
  l2?: number;
}

export interface TrainResult {
  model: Model;
  featureSet: string;
  horizon: number;
  metrics: { train: ClassificationMetrics; validation: ClassificationMetrics };
}

/**
 * Features → next-move labels → time-ordered split (a gap of `horizon` rows between the parts) →
 * scaler fitted on the training part only → model → metrics on both parts.
 */
export function trainOnBars(bars: readonly Bar[], options: TrainOptions): TrainResult {
  const horizon = options.horizon ?? 1;
  const data = buildDataset(bars, horizon);
  const { train, validation } = timeSplit(data, options.validationFraction ?? 0.25, horizon);
  if (train.x.length < 50 || validation.x.length < 20) {
    throw new RangeError(
      `not enough bars to train: ${train.x.length} training and ${validation.x.length} validation rows (need 50 and 20; the first ${featureSet.warmup - 1} bars only warm the features up)`,
    );
  }
  const scaler = fitScaler(train.x, data.features.length);
  const model =
    options.kind === "logistic"
      ? trainLogistic(
          train.x,
          train.y,
          data.features,
          scaler,
          options.l2 === undefined ? {} : { l2: options.l2 },
        )
      : trainMlp(train.x, train.y, data.features, scaler, {
          seed: options.seed ?? "mlp",
          ...(options.hidden === undefined ? {} : { hidden: options.hidden }),
          ...(options.epochs === undefined ? {} : { epochs: options.epochs }),
        });
  return {
    model,
    featureSet: featureSet.name,
    horizon,
    metrics: {
      train: classificationMetrics(predictAll(model, train.x), train.y),
      validation: classificationMetrics(predictAll(model, validation.x), validation.y),
    },
  };
}
