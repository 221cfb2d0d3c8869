import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseLabeledTsv, readLabeledTsv } from "./labeled-tsv.js";

describe("parseLabeledTsv", () => {
  it("reads text and label, detecting a header line", () => {
    const parsed = parseLabeledTsv("sentence\tlabel\ngreat film \t1\nawful\t0\n", "sst.tsv");
    expect(parsed.hasHeader).toBe(true);
    expect(parsed.rows).toEqual([
      { text: "great film", label: 1, line: 2 },
      { text: "awful", label: 0, line: 3 },
    ]);
    expect(parsed.bad).toEqual([]);
  });

  it("has no header when the first line is data", () => {
    const parsed = parseLabeledTsv("good\t1\n", "uci.txt");
    expect(parsed.hasHeader).toBe(false);
    expect(parsed.rows).toHaveLength(1);
  });

  it("splits on newline only, keeping U+0085, quotes and CR-LF endings intact", () => {
    const parsed = parseLabeledTsv('a "quoted\u0085 part\t1\r\nsecond\t0', "imdb.txt");
    expect(parsed.rows.map((row) => row.text)).toEqual(['a "quoted\u0085 part', "second"]);
  });

  it("reports every bad row with file and line and keeps the good ones", () => {
    const parsed = parseLabeledTsv("good\t1\nno tab here\nbad label\t5\n\n\t1\nfine\t0\n", "data.tsv");
    expect(parsed.rows.map((row) => row.line)).toEqual([1, 6]);
    expect(parsed.bad.map((bad) => [bad.file, bad.line])).toEqual([
      ["data.tsv", 2],
      ["data.tsv", 3],
      ["data.tsv", 4],
      ["data.tsv", 5],
    ]);
    expect(parsed.bad[0]?.reason).toMatch(/TAB/);
    expect(parsed.bad[1]?.reason).toMatch(/0 or 1.*"5"/);
    expect(parsed.rows.length + parsed.bad.length).toBe(6);
  });

  it("selects named columns (text, label, page, category) and checks the page", () => {
    const parsed = parseLabeledTsv(
      "text\tlabel\tpage\tcategory\treason\ncharged twice\t0\tpayment\tevent\twhy\nnice\t1\t\tplain\tok\nhm\t1\tcheckout\tx\ty\n",
      "shop.tsv",
    );
    expect(parsed.hasHeader).toBe(true);
    expect(parsed.rows).toEqual([
      { text: "charged twice", label: 0, line: 2, page: "payment", category: "event" },
      { text: "nice", label: 1, line: 3, category: "plain" },
    ]);
    expect(parsed.bad).toEqual([{ file: "shop.tsv", line: 4, reason: expect.stringMatching(/page must be.*"checkout"/), excerpt: "hm\t1\tcheckout\tx\ty" }]);
  });

  it("reads a real file and names a missing one", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsv-"));
    try {
      const file = join(dir, "a.tsv");
      writeFileSync(file, "nice\t1\n");
      expect(readLabeledTsv(file).rows).toHaveLength(1);
      expect(() => readLabeledTsv(join(dir, "none.tsv"))).toThrow(/none\.tsv: cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
