import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLabeledText } from "./read-labeled-text.js";

describe("labeled text files", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "labeled-text-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("reads CSV with quoted commas and line breaks, by header column names", async () => {
    const file = path.join(dir, "reviews.csv");
    await writeFile(file, 'id,label,review\n1,1,"Fast, cheap, ""great"""\n2,0,"broken\nagain"\n3,2,too many classes\n');
    const read = await readLabeledText(file, { numLabels: 2 });
    expect(read.hasHeader).toBe(true);
    expect(read.rows).toEqual([
      { text: 'Fast, cheap, "great"', label: 1, line: 2 },
      { text: "broken\nagain", label: 0, line: 3 },
    ]);
    expect(read.bad).toEqual([{ file, line: 5, reason: 'label must be an integer 0..1, got "2"' }]);
    await expect(readLabeledText(file, { numLabels: 2, strict: true })).rejects.toThrow(`${file}:5: label must be`);
  });

  it("reads header-less TSV (label after the last TAB) and rejects unknown extensions and headers", async () => {
    const tsv = path.join(dir, "plain.txt");
    await writeFile(tsv, "good\tstuff\t1\n\nbad stuff\t0\n");
    expect((await readLabeledText(tsv)).rows).toEqual([
      { text: "good", label: 1, line: 1 },
      { text: "bad stuff", label: 0, line: 3 },
    ]);
    const json = path.join(dir, "rows.json");
    await writeFile(json, "[]");
    await expect(readLabeledText(json)).rejects.toThrow(/unsupported extension ".json"/);
    const headerless = path.join(dir, "odd.tsv");
    await writeFile(headerless, "words\tpolarity\nfine\t1\n");
    await expect(readLabeledText(headerless)).rejects.toThrow(/needs a "label" column/);
  });

});
