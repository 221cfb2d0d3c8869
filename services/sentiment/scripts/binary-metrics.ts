/** Accuracy and macro-F1 of binary predictions, plus how many texts the method itself called neutral. */
export interface BinaryMetrics {
  n: number;
  accuracy: number;
  macroF1: number;
  /** F1 per class, negative (0) and positive (1) */
  f1: { negative: number; positive: number };
  predictedNeutral: number;
  confusion: { truePositive: number; falsePositive: number; trueNegative: number; falseNegative: number };
}

/** Accumulates predictions one at a time so files of any size need constant memory. */
export class BinaryMetricsAccumulator {
  private truePositive = 0;
  private falsePositive = 0;
  private trueNegative = 0;
  private falseNegative = 0;
  private neutral = 0;

  add(truth: 0 | 1, predicted: 0 | 1, neutral: boolean): void {
    if (neutral) this.neutral++;
    if (predicted === 1) truth === 1 ? this.truePositive++ : this.falsePositive++;
    else truth === 0 ? this.trueNegative++ : this.falseNegative++;
  }

  merge(other: BinaryMetricsAccumulator): void {
    this.truePositive += other.truePositive;
    this.falsePositive += other.falsePositive;
    this.trueNegative += other.trueNegative;
    this.falseNegative += other.falseNegative;
    this.neutral += other.neutral;
  }

  result(): BinaryMetrics {
    const { truePositive: tp, falsePositive: fp, trueNegative: tn, falseNegative: fn } = this;
    const n = tp + fp + tn + fn;
    const f1 = (hits: number, falseAlarms: number, misses: number): number =>
      hits === 0 ? 0 : (2 * hits) / (2 * hits + falseAlarms + misses);
    const positive = f1(tp, fp, fn);
    const negative = f1(tn, fn, fp);
    return {
      n,
      accuracy: n === 0 ? 0 : (tp + tn) / n,
      macroF1: (positive + negative) / 2,
      f1: { negative, positive },
      predictedNeutral: this.neutral,
      confusion: { truePositive: tp, falsePositive: fp, trueNegative: tn, falseNegative: fn },
    };
  }
}
