import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const script = fileURLToPath(new URL("./rule-scorer.bench.ts", import.meta.url));

describe("rule-scorer benchmark", () => {
  it("prints per-text costs of both methods measured on the same texts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-"));
    try {
      const file = join(dir, "few.tsv");
      writeFileSync(file, "great phone\t1\nbroke in a day\t0\nno label here\n");
      const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", script, "--data", file, "--rounds", "2", "--warmup", "1"]);
      const report = JSON.parse(stdout);
      expect(report.texts).toBe(2);
      expect(report.rounds).toBe(2);
      expect(report.rulesNsPerTextByRound).toHaveLength(2);
      expect(report.rulesNsPerText).toBeGreaterThan(0);
      expect(report.rulesColdNsPerText).toBeGreaterThan(0);
      expect(report.rulesLoadMs).toBeGreaterThan(0);
      expect(report.vaderNsPerText).toBeGreaterThan(0);
      expect(report.ratio).toBeCloseTo(report.rulesNsPerText / report.vaderNsPerText, 2);
      expect(stderr).toContain(`${file}:3: skipped bad row`);
      await expect(run(process.execPath, ["--import", "tsx", script, "--data", join(dir, "none-*.tsv")])).rejects.toMatchObject({
        stderr: expect.stringMatching(/matched no file/),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
