import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const script = fileURLToPath(new URL("./eval-hybrid.ts", import.meta.url));
const fixture = fileURLToPath(new URL("../src/transformer/testdata/tiny-sentiment", import.meta.url));

let dir: string;
let model: string;
const evalCli = (...args: string[]) => run(process.execPath, ["--import", "tsx", script, "--model", model, ...args], { env: { ...process.env, INIT_CWD: dir } });
const set = (report: { sets: { set: string; metrics: any }[] }, name: string) => report.sets.find((s) => s.set === name)!.metrics;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "eval-hybrid-"));
  // --fit writes into the model directory: work on a copy of the fixture.
  model = join(dir, "model");
  cpSync(fixture, model, { recursive: true });
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
    "love the fast delivery\t1",
    "broken and useless\t0",
  ];
  writeFileSync(join(dir, "data.tsv"), `${rows.join("\n")}\n`);
  writeFileSync(join(dir, "guard.tsv"), `${rows.join("\n")}\n`);
  writeFileSync(
    join(dir, "split.json"),
    JSON.stringify({ format: "funnel-text-split/v2", seed: 1, files: [{ file: join(dir, "data.tsv"), validationLines: [2, 3, 4, 5, 10, 11], testLines: [6, 7, 8, 9] }] }),
  );
  writeFileSync(join(dir, "old-split.json"), JSON.stringify({ validationLines: [2, 3], testLines: [6, 7] }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Each case starts a tsx process and loads onnxruntime: seconds on a busy shared machine.
describe("eval-hybrid CLI", { timeout: 180_000 }, () => {
  it("reports vader, rules, transformer and the hybrid per set in the three-way view, with intervals and its transformer rate", async () => {
    const { stdout } = await evalCli("--data", join(dir, "data.tsv"), "--out", "-");
    const report = JSON.parse(stdout);
    const m = set(report, "data.tsv");
    expect(m.rules.n).toBe(10);
    expect(report.policy.version).toBe("default");
    // "the checkout was it" and "my order page" have no lexicon words: neutral, an abstention, not a negative.
    expect(m.rules.neutral).toBeGreaterThanOrEqual(2);
    expect(m.rules.accuracy).toBeLessThanOrEqual(m.rules.decidedAccuracy);
    expect(m.rules.accuracyInterval[0]).toBeLessThan(m.rules.accuracy);
    expect(m.rules.accuracyInterval[1]).toBeGreaterThan(m.rules.accuracy);
    // The default policy runs the transformer for the unsure and neutral texts only, and lets it decide them alone.
    expect(m.hybrid.transformerRate).toBeGreaterThan(0);
    expect(m.hybrid.transformerRate).toBeLessThan(1);
    expect(m.hybrid.decidedBy.transformer).toBe(m.hybrid.transformerRate);
    expect(m.hybrid.neutral).toBe(0);
    expect(m.hybridVs.rules.onlyA + m.hybridVs.rules.onlyB).toBeGreaterThanOrEqual(0);
  });

  it("writes the JSON report to a file by default and a Markdown table to stdout (clean output without npm -s)", async () => {
    const { stdout } = await evalCli("--data", "data.tsv");
    expect(stdout).toMatch(/^\| set \| n \| rules/);
    expect(stdout).toContain("| data.tsv | 10 |");
    expect(JSON.parse(readFileSync(join(dir, "eval-hybrid.json"), "utf8")).sets).toHaveLength(1);
  });

  it("--fit writes the policy into the model directory (split validation + guard third) and evaluates it on the test sentences", async () => {
    // Relative --data and --guard naming the same file: the unseen two thirds are still reported.
    const { stdout } = await evalCli("--split", "split.json", "--data", "guard.tsv", "--fit", "--guard", "guard.tsv", "--policy-version", "t.v2", "--out", "-");
    const report = JSON.parse(stdout);
    expect(set(report, "data.tsv (held-out test sentences)").rules.n).toBe(4);
    expect(set(report, "guard.tsv (lines the fit never saw)").rules.n).toBe(7);
    const written = JSON.parse(readFileSync(join(model, "hybrid-policy.json"), "utf8"));
    expect(written).toMatchObject({ format: "funnel-sentiment-hybrid/v2", version: "t.v2", ruleSetVersion: report.ruleSetVersion });
    expect(written.fitted.on).toEqual({ "data.tsv": 6, "guard.tsv": 3 });
    expect(written.fitted.cells).toHaveLength(12);
    expect(set(report, "data.tsv (held-out test sentences)").hybrid.policy).toBe("t.v2");
    // A later plain run picks the stored policy up, as the service does.
    const again = JSON.parse((await evalCli("--data", join(dir, "data.tsv"), "--out", "-")).stdout);
    expect(again.policy.version).toBe("t.v2");
    expect(existsSync(join(model, "manifest.json"))).toBe(false);
  });

  it("refuses --fit without a split, and a split of the old leaking format", async () => {
    await expect(evalCli("--data", join(dir, "data.tsv"), "--fit")).rejects.toMatchObject({ stderr: expect.stringMatching(/--fit fits on the split's validation sentences/) });
    await expect(evalCli("--split", "old-split.json", "--data", "data.tsv")).rejects.toMatchObject({ stderr: expect.stringMatching(/not a funnel-text-split\/v2/) });
  });
});
