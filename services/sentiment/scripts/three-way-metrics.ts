// Metrics of a method that may answer neutral on texts labeled positive or negative. A neutral answer is an
// abstention: never counted as negative (the old binary view did that, which flattered the rules on
// negative-heavy sets and punished them on positive ones). Accuracy counts it as not right; macro-F1 counts
// it as a miss of the text's class; `decidedAccuracy` is the accuracy on the texts the method did decide.

export interface ThreeWayMetrics {
  n: number;
  /** Right answers / n, neutral answers counting as not right; with a Wilson 95 % interval. */
  accuracy: number;
  accuracyInterval: [number, number];
  /** Mean F1 of the positive and negative classes; a neutral answer is a miss of its text's class. */
  macroF1: number;
  /** Answers that were neutral (abstentions). */
  neutral: number;
  /** Right answers / non-neutral answers. */
  decidedAccuracy: number;
}

/** Wilson score interval for k successes in n trials (z = 1.96: 95 %). */
export function wilsonInterval(k: number, n: number, z = 1.96): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n;
  const denominator = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denominator;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export type Answer = "negative" | "neutral" | "positive";

export class ThreeWayAccumulator {
  private n = 0;
  private neutral = 0;
  /** [label][answer]: answer 0 negative, 1 positive, 2 neutral */
  private readonly counts = [
    [0, 0, 0],
    [0, 0, 0],
  ];

  add(label: 0 | 1, answer: Answer): void {
    this.n++;
    const a = answer === "negative" ? 0 : answer === "positive" ? 1 : 2;
    if (a === 2) this.neutral++;
    this.counts[label]![a]!++;
  }

  result(): ThreeWayMetrics {
    const c = this.counts;
    const right = c[0]![0]! + c[1]![1]!;
    const f1 = (cls: 0 | 1) => {
      const hits = c[cls]![cls]!;
      const predicted = c[0]![cls]! + c[1]![cls]!;
      const actual = c[cls]![0]! + c[cls]![1]! + c[cls]![2]!;
      return hits === 0 ? 0 : (2 * hits) / (predicted + actual);
    };
    const round = (x: number) => Math.round(x * 10_000) / 10_000;
    const [lo, hi] = wilsonInterval(right, this.n);
    const decided = this.n - this.neutral;
    return {
      n: this.n,
      accuracy: round(this.n === 0 ? 0 : right / this.n),
      accuracyInterval: [round(lo), round(hi)],
      macroF1: round((f1(0) + f1(1)) / 2),
      neutral: this.neutral,
      decidedAccuracy: round(decided === 0 ? 0 : right / decided),
    };
  }
}

/**
 * Paired comparison of two methods on the same texts: how many texts only A gets right and only B gets right
 * (the discordant pairs McNemar's test looks at), and the exact two-sided sign-test p-value.
 */
export function pairedComparison(aRight: readonly boolean[], bRight: readonly boolean[]): { onlyA: number; onlyB: number; p: number } {
  let onlyA = 0;
  let onlyB = 0;
  for (const [i, a] of aRight.entries()) {
    if (a && !bRight[i]) onlyA++;
    else if (!a && bRight[i]) onlyB++;
  }
  const n = onlyA + onlyB;
  const k = Math.min(onlyA, onlyB);
  // P(X ≤ k) for X ~ Binomial(n, ½), doubled; log-space so large n does not underflow.
  let logC = 0;
  let tail = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logC - n * Math.LN2);
  }
  return { onlyA, onlyB, p: Math.round(Math.min(1, n === 0 ? 1 : 2 * tail) * 10_000) / 10_000 };
}
