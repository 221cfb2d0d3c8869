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
const evalCli = (...args: string[]) => run(process.execPath, ["--import", "tsx", script, "--model", model, ...args]);

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
  writeFileSync(join(dir, "split.json"), JSON.stringify({ validationLines: [2, 3, 4, 5, 10, 11], testLines: [6, 7, 8, 9] }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Each case starts a tsx process and loads onnxruntime: seconds on a busy shared machine.
describe("eval-hybrid CLI", { timeout: 60_000 }, () => {
  it("reports vader, rules, transformer and the hybrid (default policy without a fitted one) with its transformer rate", async () => {
    const { stdout } = await evalCli("--data", join(dir, "data.tsv"));
    const report = JSON.parse(stdout);
    expect(report.overall.rules.n).toBe(10);
    expect(report.policy.version).toBe("default");
    // The default policy runs the transformer for the unsure texts only, and lets it decide them alone.
    expect(report.overall.hybrid.transformerRate).toBeGreaterThan(0);
    expect(report.overall.hybrid.transformerRate).toBeLessThan(1);
    expect(report.overall.hybrid.decidedBy.transformer).toBe(report.overall.hybrid.transformerRate);
    expect(report.overall.hybrid.accuracy).toBe(report.overall.hybridDefault.accuracy);
  });

  it("--fit writes the policy into the model directory (split validation + guard third) and evaluates it on the test lines", async () => {
    const { stdout } = await evalCli("--data", join(dir, "data.tsv"), "--split", join(dir, "split.json"), "--fit", "--guard", join(dir, "guard.tsv"), "--policy-version", "t.v1");
    const report = JSON.parse(stdout);
    expect(report.overall.rules.n).toBe(4);
    const written = JSON.parse(readFileSync(join(model, "hybrid-policy.json"), "utf8"));
    expect(written).toMatchObject({ format: "funnel-sentiment-hybrid/v1", version: "t.v1", ruleSetVersion: report.ruleSetVersion, phraseRulesDecide: true });
    expect(written.fitted.combinationOn.rows).toBeGreaterThan(0);
    expect(report.overall.hybrid.policy).toBe("t.v1");
    // A later plain run picks the stored policy up, as the service does.
    const again = JSON.parse((await evalCli("--data", join(dir, "data.tsv"))).stdout);
    expect(again.policy.version).toBe("t.v1");
    expect(existsSync(join(model, "manifest.json"))).toBe(false);
  });

  it("refuses --fit without a split", async () => {
    await expect(evalCli("--data", join(dir, "data.tsv"), "--fit")).rejects.toMatchObject({ stderr: expect.stringMatching(/--fit fits on the split's validation lines/) });
  });
});
