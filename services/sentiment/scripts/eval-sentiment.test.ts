import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const script = fileURLToPath(new URL("./eval-sentiment.ts", import.meta.url));
const evalCli = (...args: string[]) => run(process.execPath, ["--import", "tsx", script, ...args]);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "eval-sentiment-"));
  writeFileSync(join(dir, "a_labelled.txt"), "I love it, works great\t1\nTotal waste of money\t0\nthis row has no label\nThe box is brown\t1\n");
  writeFileSync(join(dir, "b_labelled.txt"), "sentence\tlabel\nterrible, avoid it\t0\nexcellent value\t1\n");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("eval-sentiment CLI", () => {
  it("reports accuracy and macro-F1 per file and overall for rules and vader, and names bad rows", async () => {
    const { stdout, stderr } = await evalCli("--data", join(dir, "*_labelled.txt"));
    const report = JSON.parse(stdout);
    expect(report.decision).toMatch(/positive iff score > 0/);
    expect(report.files.map((f: { file: string }) => f.file)).toEqual([join(dir, "a_labelled.txt"), join(dir, "b_labelled.txt")]);
    const [a, b] = report.files;
    expect(a.rowsScored).toBe(3);
    expect(a.badRows).toBe(1);
    expect(a.badRowsListed).toEqual([{ line: 3, reason: expect.stringMatching(/TAB/) }]);
    expect(b.headerDetected).toBe(true);
    expect(b.rowsScored).toBe(2);
    expect(stderr).toContain(`${join(dir, "a_labelled.txt")}:3:`);
    expect(report.overall.rowsScored).toBe(5);
    expect(report.overall.badRows).toBe(1);
    for (const method of ["rules", "vader"] as const) {
      const overall = report.overall[method];
      expect(overall.n).toBe(5);
      expect(overall.accuracy).toBeGreaterThanOrEqual(0);
      expect(overall.accuracy).toBeLessThanOrEqual(1);
      const c = overall.confusion;
      expect((c.truePositive + c.trueNegative) / overall.n).toBeCloseTo(overall.accuracy, 12);
    }
    // "The box is brown" has no sentiment: a zero score counts as negative, so it is a false negative.
    expect(report.overall.rules.confusion.falseNegative).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it("exits non-zero after a short summary when a file has no usable rows, with nothing on stdout", async () => {
    const file = join(dir, "wrong_format.csv");
    const lines = Array.from({ length: 5000 }, (_, i) => `review ${i},positive`);
    writeFileSync(file, `${lines.join("\n")}\n`);
    const failure = await evalCli("--data", file).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stdout).toBe("");
    expect(failure?.stderr).toMatch(/wrong_format\.csv: no usable rows \(5000 bad rows/);
    expect(failure?.stderr).toContain(`line 1: no TAB between text and label: "review 0,positive"`);
    expect(failure?.stderr).toContain("… and 4995 more bad rows");
    // A summary, not one line per bad row.
    expect(failure?.stderr.split("\n").length).toBeLessThan(20);
  }, 60_000);

  it("lists at most 20 bad rows per file on stderr and keeps stdout pure JSON", async () => {
    const file = join(dir, "mostly_bad.tsv");
    const bad = Array.from({ length: 300 }, (_, i) => `row ${i}\tmaybe`);
    writeFileSync(file, `${["great shop\t1", ...bad, "awful shop\t0"].join("\n")}\n`);
    const { stdout, stderr } = await evalCli("--data", file);
    const report = JSON.parse(stdout);
    expect(report.overall.rowsScored).toBe(2);
    expect(report.overall.badRows).toBe(300);
    expect(stderr.match(/skipped bad row/g)).toHaveLength(20);
    expect(stderr).toContain("… and 280 more bad rows");
    const out = join(dir, "report.json");
    const written = await evalCli("--data", file, "--out", out);
    expect(written.stdout).toBe("");
    expect(JSON.parse(readFileSync(out, "utf8")).overall.rowsScored).toBe(2);
  }, 60_000);

  it("scores each row on its page column and reports accuracy per category and rows in other languages", async () => {
    const file = join(dir, "shop.tsv");
    writeFileSync(
      file,
      "text\tlabel\tpage\tcategory\treason\nI was charged twice\t0\tpayment\tevent\tdouble charge\n" +
        "Die Zahlung ist fehlgeschlagen und niemand antwortet auf meine E-Mails\t0\tpayment\tother\tGerman\n",
    );
    const report = JSON.parse((await evalCli("--data", file)).stdout);
    const [shop] = report.files;
    expect(shop.rulesByCategory.event).toMatchObject({ n: 1, accuracy: 1 });
    expect(shop.unsupportedLanguage).toEqual({ count: 1, rows: [{ line: 3, language: "deu" }] });
    expect(report.overall.unsupportedLanguage).toBe(1);
  }, 60_000);

  it("fails with a clear message when a pattern matches nothing", async () => {
    await expect(evalCli("--data", join(dir, "*.nothing"))).rejects.toMatchObject({
      stderr: expect.stringMatching(/\*\.nothing: the pattern matched no file/),
    });
  }, 60_000);
});
