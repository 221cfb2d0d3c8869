import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const script = fileURLToPath(new URL("./eval-hybrid.ts", import.meta.url));
const model = fileURLToPath(new URL("../src/transformer/testdata/tiny-sentiment", import.meta.url));
const evalCli = (...args: string[]) => run(process.execPath, ["--import", "tsx", script, "--model", model, ...args]);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "eval-hybrid-"));
  const rows = [
    "sentence\tlabel",
    "great checkout really love it\t1", // line 2
    "awful slow delivery\t0",
    "the checkout was it\t1", // no lexicon words: the rules are unsure
    "my order page\t0",
    "I love it, works great\t1",
    "Total waste of money\t0",
    "excellent happy delivery\t1",
    "useless broken product\t0",
  ];
  writeFileSync(join(dir, "data.tsv"), `${rows.join("\n")}\n`);
  writeFileSync(join(dir, "split.json"), JSON.stringify({ validationLines: [2, 3, 4, 5], testLines: [6, 7, 8, 9] }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Each case starts a tsx process and loads onnxruntime: seconds on a busy shared machine.
describe("eval-hybrid CLI", { timeout: 60_000 }, () => {
  it("reports vader, rules, transformer and hybrid with the fallback rate on every row of the files", async () => {
    const { stdout } = await evalCli("--data", join(dir, "data.tsv"), "--threshold", "1.01");
    const report = JSON.parse(stdout);
    expect(report.overall.rules.n).toBe(8);
    // Threshold above any confidence: every text goes to the transformer, so the hybrid is the transformer.
    expect(report.overall.hybrid.fallbackRate).toBe(1);
    expect(report.overall.hybrid.accuracy).toBe(report.overall.transformer.accuracy);
    expect(report.sweep.length).toBeGreaterThan(10);
  });

  it("tunes the policy on the split's validation lines and scores only its test lines", async () => {
    const { stdout } = await evalCli("--data", join(dir, "data.tsv"), "--split", join(dir, "split.json"), "--threshold", "auto");
    const report = JSON.parse(stdout);
    expect(report.overall.rules.n).toBe(4);
    expect(report.tuning.validation.rules.n).toBe(4);
    expect(report.tuning.chosen).toEqual({ threshold: expect.any(Number), ruleWeight: expect.any(Number) });
    expect(report.overall.hybrid.threshold).toBe(report.tuning.chosen.threshold);
  });

  it("refuses --threshold auto without a split", async () => {
    await expect(evalCli("--data", join(dir, "data.tsv"), "--threshold", "auto")).rejects.toMatchObject({ stderr: expect.stringMatching(/--threshold auto tunes on the split/) });
  });
});
