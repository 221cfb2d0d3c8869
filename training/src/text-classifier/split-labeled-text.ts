import { createSeededRandom } from "../data/seeded-random.js";
import type { LabeledText } from "./read-labeled-text.js";

export interface LabeledTextSplit {
  train: LabeledText[];
  validation: LabeledText[];
  test: LabeledText[];
}

/** Which source lines went where; written next to the model so the test part is provably never trained on. */
export interface SplitRecord {
  file: string;
  seed: number;
  validationLines: number[];
  testLines: number[];
}

/**
 * Seeded random split with fixed-size validation and test parts (the rest trains). Rows are ordered by line
 * before shuffling, so the same file and seed always give the same parts.
 */
export function splitLabeledText(rows: readonly LabeledText[], options: { validation: number; test: number; seed: number }): LabeledTextSplit {
  if (options.validation + options.test >= rows.length) {
    throw new RangeError(`validation ${options.validation} + test ${options.test} rows leave nothing to train on (${rows.length} rows)`);
  }
  const shuffled = createSeededRandom(options.seed).shuffle([...rows].sort((a, b) => a.line - b.line));
  return {
    test: shuffled.slice(0, options.test),
    validation: shuffled.slice(options.test, options.test + options.validation),
    train: shuffled.slice(options.test + options.validation),
  };
}

export function splitRecord(file: string, seed: number, split: LabeledTextSplit): SplitRecord {
  const lines = (part: LabeledText[]): number[] => part.map((r) => r.line).sort((a, b) => a - b);
  return { file, seed, validationLines: lines(split.validation), testLines: lines(split.test) };
}
