import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli } from "./build-cli.js";
import { makeModelDir } from "./test-support/make-model-dir.js";

describe("registry CLI (file backend)", () => {
  let work: string;
  let dataDir: string;
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), "registry-cli-"));
    dataDir = path.join(work, "registry");
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  async function run(...args: string[]): Promise<string> {
    let out = "";
    const program = buildCli({
      env: { FUNNEL_REGISTRY_ACTOR: "cli-test" },
      cwd: work,
      out: (text) => {
        out += text;
      },
      err: (text) => {
        out += text;
      },
      interactive: false,
    });
    program.exitOverride();
    await program.parseAsync(["--dir", dataDir, ...args], { from: "user" });
    return out;
  }

  it("runs register → promote → register → promote → rollback → history → diff", async () => {
    const a = await makeModelDir({ name: "two-tower", metrics: { recallAt10: 0.3, loss: 0.7 }, parent: work });
    const b = await makeModelDir({ name: "two-tower", metrics: { recallAt10: 0.4, loss: 0.6 }, parent: work });
    // Relative paths are resolved against the caller's cwd, as they would be in a shell.
    expect(await run("register", "two-tower", path.relative(work, a.dir))).toContain("registered two-tower v1");
    expect(await run("promote", "two-tower", "1", "--alias", "production")).toContain("production: (unset) → 1");
    expect(await run("register", "two-tower", b.dir)).toContain("registered two-tower v2");
    expect(await run("promote", "two-tower", "v2", "--alias", "production", "--reason", "better recall")).toContain("production: 1 → 2");
    expect(await run("rollback", "two-tower", "--alias", "production")).toContain("rolled back 2 → 1");

    const history = await run("history", "two-tower", "--alias", "production");
    const rows = history.split("\n").filter((line) => line.includes("production"));
    expect(rows).toHaveLength(3);
    expect(rows[1]).toMatch(/set.*1.*2.*cli-test.*better recall/);
    expect(rows[2]).toMatch(/rollback.*2.*1.*cli-test/);

    const diff = await run("diff", "two-tower", "1", "2");
    expect(diff).toMatch(/recallAt10\s*│\s*0\.3\s*│\s*0\.4\s*│\s*\+0\.1/);
    expect(diff).toMatch(/loss\s*│\s*0\.7\s*│\s*0\.6\s*│\s*-0\.1/);
    expect(diff).toContain("trained on different data");

    const now = new Date().toISOString();
    expect(await run("history", "two-tower", "--alias", "production", "--at", now)).toContain(`production at ${now}: v1`);
    expect(await run("history", "two-tower", "--alias", "production", "--at", "2000-01-01T00:00:00Z")).toContain("(unset)");
    await expect(run("history", "two-tower", "--alias", "production", "--at", "yesterday-ish")).rejects.toThrow(/not a date/);

    expect(await run("show", "two-tower", "production")).toMatch(/two-tower v1 \(production\)[\s\S]*recallAt10=0\.3/);
    expect(await run("list")).toMatch(/two-tower\s*│\s*2\s*│\s*2\s*│\s*production→1/);
  });

  it("promotes with --promote-if-better only when the metric improves", async () => {
    const model = "ranker";
    const worse = await makeModelDir({ name: model, metrics: { loss: 0.5 }, parent: work });
    const first = await makeModelDir({ name: model, metrics: { loss: 0.4 }, parent: work });
    expect(await run("register", model, first.dir, "--promote-if-better", "loss", "--lower-is-better", "--alias", "candidate")).toContain(
      'promoted to "candidate"',
    );
    expect(await run("register", model, worse.dir, "--promote-if-better", "loss", "--lower-is-better", "--alias", "candidate")).toContain(
      'not promoted to "candidate": loss 0.5 does not beat 0.4',
    );
    expect(await run("list", model)).toMatch(/1\s*│.*candidate/);
  });

  it("archives and downloads, and reports a missing alias as an error", async () => {
    const m = await makeModelDir({ name: "sentiment", parent: work });
    await run("register", "sentiment", m.dir);
    await run("register", "sentiment", m.dir);
    expect(await run("archive", "sentiment", "1")).toContain("archived sentiment v1");
    expect(await run("list", "sentiment")).toMatch(/1\s*│.*archived/);
    const out = await run("download", "sentiment", "2", "downloaded");
    expect(out).toContain("4 files verified");
    expect((await readdir(path.join(work, "downloaded"))).sort()).toEqual(["embeddings", "feature-spec.json", "item_tower.onnx", "manifest.json", "user_tower.onnx"]);
    await expect(run("show", "sentiment", "production")).rejects.toThrow(/no alias "production"/);
    await expect(run("promote", "sentiment", "zero", "--alias", "production")).rejects.toThrow();
  });

  it("as a process, exits 1 with the domain error's message and no stack trace", () => {
    const cli = fileURLToPath(new URL("./cli.ts", import.meta.url));
    const result = spawnSync(process.execPath, ["--import", "tsx", cli, "--dir", dataDir, "show", "no-such-model", "1"], {
      encoding: "utf8",
      env: { ...process.env, FUNNEL_REGISTRY: "file" },
    });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('error: model "no-such-model" is not registered; run `registry list` to see registered models');
  });
});
