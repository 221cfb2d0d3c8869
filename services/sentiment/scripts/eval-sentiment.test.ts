import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
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

  it("fails with a clear message when a pattern matches nothing", async () => {
    await expect(evalCli("--data", join(dir, "*.nothing"))).rejects.toMatchObject({
      stderr: expect.stringMatching(/\*\.nothing: the pattern matched no file/),
    });
  }, 60_000);
});
