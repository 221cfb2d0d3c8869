import { describe, expect, it } from "vitest";
import type { LabeledText } from "./read-labeled-text.js";
import { findLeaks, splitFileRecord, splitLabeledText } from "./split-labeled-text.js";

/**
 * A phrase-level file like SST-2's train.tsv: each sentence comes with phrases cut from it, and some short
 * phrases ("the film") occur in several sentences.
 */
function phraseLevelRows(sentences: number): LabeledText[] {
  const adjectives = ["moving", "dull", "sharp", "tired", "warm", "clumsy", "bright", "hollow"];
  const rows: LabeledText[] = [];
  let line = 2;
  for (let i = 0; i < sentences; i++) {
    const adjective = adjectives[i % adjectives.length]!;
    const label = i % 2 === 0 ? 1 : 0;
    const sentence = `the film number ${i} is ${adjective} and story ${i} feels ${adjective} too`;
    for (const text of [sentence, `number ${i} is ${adjective}`, `story ${i} feels ${adjective}`, "the film", adjective, `${adjective} too`]) {
      rows.push({ text, label, line: line++ });
    }
  }
  return rows;
}

describe("splitLabeledText", () => {
  it("holds out whole sentences with their phrases: no held-out text occurs inside a training text", () => {
    const rows = phraseLevelRows(60);
    const split = splitLabeledText(rows, { validation: 6, test: 10, seed: 7 });
    expect(split.sentences).toBe(60);
    expect([split.validation.length, split.test.length]).toEqual([6, 10]);
    expect(split.test.every((r) => r.text.startsWith("the film number"))).toBe(true);
    // Each held-out sentence brings its two own phrases; the shared ones ("the film", adjectives) are excluded.
    expect(split.testPhrases).toHaveLength(20);
    expect(split.excluded.length).toBeGreaterThan(0);
    expect(split.excluded.every((r) => !/\d/.test(r.text))).toBe(true);
    const heldOut = [...split.validation, ...split.test, ...split.validationPhrases, ...split.testPhrases];
    expect(findLeaks(split.train, heldOut)).toEqual([]);
    // Every row lands in exactly one part; nothing disappears without a line in split.json.
    const record = splitFileRecord("f.tsv", rows.length, split);
    const all = [record.validationLines, record.testLines, record.validationPhraseLines, record.testPhraseLines, record.excludedLines].flat();
    expect(all.length + record.trainRows).toBe(rows.length);
    expect(new Set([...all, ...split.train.map((r) => r.line)]).size).toBe(rows.length);
  });

  it("a row-level split of the same file leaks, and the leak check names the lines", () => {
    const rows = phraseLevelRows(20);
    // What the old split did: hold out single rows regardless of the sentences they were cut from.
    const heldOut = rows.filter((r) => r.line % 6 === 3);
    const train = rows.filter((r) => r.line % 6 !== 3);
    const leaks = findLeaks(train, heldOut);
    expect(leaks.length).toBe(heldOut.length);
    expect(leaks[0]).toEqual({ line: 3, text: "number 0 is moving", insideLine: 2 });
    // Containment is by whole words and ignores case: "warm" is not inside "warmth", "Dull" is inside "so dull".
    expect(findLeaks([{ text: "warmth", label: 1, line: 1 }], [{ text: "warm", label: 1, line: 2 }])).toEqual([]);
    expect(findLeaks([{ text: "so dull .", label: 0, line: 1 }], [{ text: "Dull", label: 0, line: 2 }])).toHaveLength(1);
  });

  it("is seeded and independent of row order; caps the held-out share; refuses to leave nothing to train on", () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({ text: `t${i}`, label: i % 2, line: i + 2 }));
    const a = splitLabeledText(rows, { validation: 5, test: 7, seed: 3 });
    const b = splitLabeledText([...rows].reverse(), { validation: 5, test: 7, seed: 3 });
    expect(splitFileRecord("f", 50, a)).toEqual(splitFileRecord("f", 50, b));
    expect([a.train.length, a.validation.length, a.test.length]).toEqual([38, 5, 7]);
    expect(splitFileRecord("f", 50, splitLabeledText(rows, { validation: 5, test: 7, seed: 4 })).testLines).not.toEqual(splitFileRecord("f", 50, a).testLines);
    const capped = splitLabeledText(rows, { validation: 100, test: 100, seed: 3, maxShare: { validation: 0.1, test: 0.2 } });
    expect([capped.validation.length, capped.test.length]).toEqual([5, 10]);
    expect(() => splitLabeledText(rows, { validation: 25, test: 25, seed: 1 })).toThrow(/leave nothing to train on/);
    // Duplicate texts are one sentence: both copies go to the same side.
    const dup = [...rows, { text: "t3", label: 1, line: 99 }];
    const d = splitLabeledText(dup, { validation: 5, test: 7, seed: 3 });
    const side = (line: number) => (d.train.some((r) => r.line === line) ? "train" : d.test.some((r) => r.line === line) ? "test" : "validation");
    expect(side(99)).toBe(side(5));
  });
});
