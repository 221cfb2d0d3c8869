import { createSeededRandom } from "../data/seeded-random.js";
import type { LabeledText } from "./read-labeled-text.js";

/** One labeled file's part of the split. Held-out parts hold whole sentences (see splitLabeledText). */
export interface LabeledTextSplit {
  train: LabeledText[];
  /** Held-out sentences for early stopping and policy fitting. */
  validation: LabeledText[];
  /** Held-out sentences for the test metrics: never trained on, never fitted on. */
  test: LabeledText[];
  /** Rows inside a held-out sentence (its phrases): on that sentence's side, neither trained on nor scored. */
  validationPhrases: LabeledText[];
  testPhrases: LabeledText[];
  /** Phrases of a held-out sentence that also occur inside a training row: neither trained on nor held out. */
  excluded: LabeledText[];
  /** Rows that occur inside no other row of the file (the candidates for holding out). */
  sentences: number;
}

export const SPLIT_FORMAT = "funnel-text-split/v2";

export const SPLIT_METHOD =
  "Per file: texts are compared lower-cased as whitespace-separated words. A 'sentence' is a row whose text occurs inside no " +
  "other row. Seeded shuffle of the sentences; the first testLines.length go to test, the next validationLines.length to " +
  "validation. Every row whose text is a contiguous word span of a held-out sentence goes to that sentence's side " +
  "(testPhraseLines / validationPhraseLines: not trained on, not scored); such a phrase that also occurs inside a training row " +
  "is excluded from every part (excludedLines). So no held-out text occurs inside a training text, and no training text " +
  "occurs inside a held-out sentence. SST-2's train.tsv is phrase-level (phrases cut from the same sentences): a row-level " +
  "split leaked 4,357 of 5,000 test phrases.";

/** Which source lines went where; written next to the model so the test part is provably never trained on. */
export interface SplitRecord {
  format: typeof SPLIT_FORMAT;
  seed: number;
  method: string;
  files: SplitFileRecord[];
}

export interface SplitFileRecord {
  file: string;
  rows: number;
  sentences: number;
  trainRows: number;
  validationLines: number[];
  testLines: number[];
  validationPhraseLines: number[];
  testPhraseLines: number[];
  excludedLines: number[];
}

/** Lower-cased words: the unit of containment. */
export function containmentKey(text: string): string {
  return text.toLowerCase().split(/\s+/).filter(Boolean).join(" ");
}

/**
 * How many sentences to hold out of a file with `sentences` of them: the requested count, but never more than
 * `maxShare` of the sentences (small sources such as the UCI files keep most of their rows for training).
 */
export function holdoutCount(requested: number, sentences: number, maxShare: number): number {
  return Math.min(requested, Math.floor(sentences * maxShare));
}

/**
 * Leak-free split of one labeled file: whole sentences are held out together with every row that is a
 * phrase of them (see SPLIT_METHOD). Rows are ordered by line before shuffling, so the same file and seed
 * always give the same parts. `validation` and `test` count held-out sentences.
 */
export function splitLabeledText(
  rows: readonly LabeledText[],
  options: { validation: number; test: number; seed: number; maxShare?: { validation: number; test: number } },
): LabeledTextSplit {
  const ordered = [...rows].sort((a, b) => a.line - b.line);
  const keys = ordered.map((r) => containmentKey(r.text));
  const rowsByKey = new Map<string, number[]>();
  for (const [i, key] of keys.entries()) {
    const list = rowsByKey.get(key);
    if (list) list.push(i);
    else rowsByKey.set(key, [i]);
  }
  // For every distinct text, the other row texts that are proper word spans of it. Enumerating spans is
  // quadratic in a row's words, but rows are sentences at most (SST-2: about 1.5 M spans in all).
  const inside = new Map<string, string[]>();
  const containedSomewhere = new Set<string>();
  for (const key of rowsByKey.keys()) {
    const words = key.split(" ");
    const hits = new Set<string>();
    for (let start = 0; start < words.length; start++) {
      let span = "";
      for (let end = start; end < words.length; end++) {
        span = end === start ? words[start]! : `${span} ${words[end]}`;
        if (span.length === key.length) continue;
        if (rowsByKey.has(span)) hits.add(span);
      }
    }
    inside.set(key, [...hits]);
    for (const hit of hits) containedSomewhere.add(hit);
  }
  const sentenceKeys = [...rowsByKey.keys()].filter((k) => !containedSomewhere.has(k));
  const share = options.maxShare ?? { validation: 1, test: 1 };
  const nTest = holdoutCount(options.test, sentenceKeys.length, share.test);
  const nValidation = holdoutCount(options.validation, sentenceKeys.length, share.validation);
  if (nTest + nValidation >= sentenceKeys.length) {
    throw new RangeError(`validation ${nValidation} + test ${nTest} sentences leave nothing to train on (${sentenceKeys.length} sentences, ${rows.length} rows)`);
  }
  const shuffled = createSeededRandom(options.seed).shuffle(sentenceKeys);
  const side = new Map<string, "test" | "validation">();
  const heads = new Set<string>();
  const claim = (head: string, part: "test" | "validation") => {
    heads.add(head);
    side.set(head, part);
    // A phrase shared by two held-out sentences stays with the first one claiming it: held out either way.
    for (const phrase of inside.get(head)!) if (!side.has(phrase)) side.set(phrase, part);
  };
  for (const head of shuffled.slice(0, nTest)) claim(head, "test");
  for (const head of shuffled.slice(nTest, nTest + nValidation)) claim(head, "validation");
  const excludedKeys = new Set<string>();
  for (const key of rowsByKey.keys()) {
    if (side.has(key)) continue;
    for (const phrase of inside.get(key)!) if (side.has(phrase)) excludedKeys.add(phrase);
  }
  const split: LabeledTextSplit = { train: [], validation: [], test: [], validationPhrases: [], testPhrases: [], excluded: [], sentences: sentenceKeys.length };
  for (const [i, row] of ordered.entries()) {
    const key = keys[i]!;
    const part = side.get(key);
    if (part === undefined) split.train.push(row);
    else if (excludedKeys.has(key)) split.excluded.push(row);
    else if (heads.has(key)) split[part].push(row);
    else split[part === "test" ? "testPhrases" : "validationPhrases"].push(row);
  }
  return split;
}

export function splitFileRecord(file: string, rows: number, split: LabeledTextSplit): SplitFileRecord {
  const lines = (part: LabeledText[]): number[] => part.map((r) => r.line).sort((a, b) => a - b);
  return {
    file,
    rows,
    sentences: split.sentences,
    trainRows: split.train.length,
    validationLines: lines(split.validation),
    testLines: lines(split.test),
    validationPhraseLines: lines(split.validationPhrases),
    testPhraseLines: lines(split.testPhrases),
    excludedLines: lines(split.excluded),
  };
}

/**
 * Held-out texts (sentences and their phrases) that occur, as whole words, inside a training text of the same
 * file: must be empty. Written independently of the split (plain substring search over the training texts) so
 * a split bug cannot hide itself.
 */
export function findLeaks(train: readonly LabeledText[], heldOut: readonly LabeledText[]): { line: number; text: string; insideLine: number }[] {
  // One string with every training text padded by spaces: a held-out text is inside a training text iff
  // " text " occurs in it (texts hold no newline after containmentKey, so a hit never spans two rows).
  const starts: number[] = [];
  let joined = "";
  for (const r of train) {
    starts.push(joined.length);
    joined += ` ${containmentKey(r.text)} \n`;
  }
  const leaks: { line: number; text: string; insideLine: number }[] = [];
  for (const h of heldOut) {
    const at = joined.indexOf(` ${containmentKey(h.text)} `);
    if (at === -1) continue;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    leaks.push({ line: h.line, text: h.text, insideLine: train[lo]!.line });
  }
  return leaks;
}
