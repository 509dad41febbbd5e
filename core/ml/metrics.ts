/** Classification metrics of predicted up-probabilities against 0/1 labels. */
export interface ClassificationMetrics {
  /** Share of correct calls at threshold 0.5. */
  accuracy: number;
  /** Mean negative log-likelihood (natural log), probabilities clipped to [1e-15, 1 − 1e-15]. */
  logLoss: number;
  /** Area under the ROC curve (Mann–Whitney, ties counted half); 0.5 when a class is absent. */
  auc: number;
  /** Rows evaluated, and the share of positive labels (the base rate a constant model gets). */
  n: number;
  positiveRate: number;
}

export function accuracy(p: ArrayLike<number>, y: ArrayLike<number>): number {
  let hits = 0;
  for (let i = 0; i < y.length; i++) if (((p[i] as number) >= 0.5 ? 1 : 0) === y[i]) hits++;
  return y.length === 0 ? Number.NaN : hits / y.length;
}

export function logLoss(p: ArrayLike<number>, y: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(1 - 1e-15, Math.max(1e-15, p[i] as number));
    sum -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
  }
  return y.length === 0 ? Number.NaN : sum / y.length;
}

/** AUC by ranks: (sum of positive ranks − n₊(n₊+1)/2) / (n₊ n₋), tied scores share their mean rank. */
export function auc(p: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = y.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (p[a] as number) - (p[b] as number));
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && p[order[j + 1] as number] === p[order[i] as number]) j++;
    const meanRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (y[order[k] as number] === 1) {
        positives++;
        rankSum += meanRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return 0.5;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function classificationMetrics(p: ArrayLike<number>, y: ArrayLike<number>): ClassificationMetrics {
  let pos = 0;
  for (let i = 0; i < y.length; i++) pos += y[i] as number;
  return {
    accuracy: accuracy(p, y),
    logLoss: logLoss(p, y),
    auc: auc(p, y),
    n: y.length,
    positiveRate: y.length === 0 ? Number.NaN : pos / y.length,
  };
}
