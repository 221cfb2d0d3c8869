export interface ClassificationMetrics {
  rows: number;
  accuracy: number;
  /** Unweighted mean of the per-class F1 scores (a class never true nor predicted counts as F1 = 0). */
  macroF1: number;
  /** [true][predicted] counts. */
  confusion: number[][];
}

export function classificationMetrics(truth: ArrayLike<number>, predicted: ArrayLike<number>, numLabels: number): ClassificationMetrics {
  if (truth.length !== predicted.length) throw new RangeError(`classificationMetrics: ${truth.length} labels but ${predicted.length} predictions`);
  const confusion = Array.from({ length: numLabels }, () => new Array<number>(numLabels).fill(0));
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    confusion[truth[i]!]![predicted[i]!]! += 1;
    if (truth[i] === predicted[i]) correct++;
  }
  let f1Sum = 0;
  for (let c = 0; c < numLabels; c++) {
    const tp = confusion[c]![c]!;
    const actual = confusion[c]!.reduce((a, b) => a + b, 0);
    const guessed = confusion.reduce((a, row) => a + row[c]!, 0);
    f1Sum += actual + guessed === 0 ? 0 : (2 * tp) / (actual + guessed);
  }
  return { rows: truth.length, accuracy: truth.length === 0 ? 0 : correct / truth.length, macroF1: f1Sum / numLabels, confusion };
}
