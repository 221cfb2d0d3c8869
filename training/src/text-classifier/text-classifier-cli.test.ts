import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { FileRegistry, verifyModelDirectory } from "@funnel/registry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEXT_CLASSIFIER_FILES } from "./write-text-classifier-directory.js";

const run = promisify(execFile);
const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run("npx", ["tsx", "src/cli/main.ts", ...args], { cwd: packageDir, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("train-text and import-hf commands", () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "text-cli-"));
    env = { FUNNEL_REGISTRY: "file", FUNNEL_REGISTRY_DIR: path.join(dir, "registry"), FUNNEL_REGISTRY_ACTOR: "test" };
    const good = ["great fast checkout", "love this shop", "excellent support", "happy with the delivery"];
    const bad = ["awful slow checkout", "hate this shop", "terrible support", "broken delivery"];
    const lines = ["sentence\tlabel"];
    // Distinct sentences (order numbers), each also present as a phrase cut from it, as in SST-2.
    for (let i = 0; i < 120; i++) lines.push(`${good[i % 4]} order ${i}${i % 7 === 0 ? " really" : ""}\t1`, `${bad[i % 4]} order ${i + 1000}\t0`, `${bad[i % 4]}\t0`);
    lines.splice(5, 0, "no label on this line", "fine text\t7");
    await writeFile(path.join(dir, "labeled.tsv"), `${lines.join("\n")}\n`);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("trains, writes a Hugging Face-layout directory with its held-out split, publishes it; import-hf registers the same layout", async () => {
    const out = path.join(dir, "model");
    const trained = await cli(
      ["train-text", "--data", path.join(dir, "labeled.tsv"), "--out", out, "--validation-rows", "30", "--test-rows", "30", "--vocab-size", "120",
        "--max-length", "16", "--dim", "16", "--heads", "2", "--ffn-dim", "32", "--epochs", "2", "--batch-size", "16", "--lr", "0.005", "--warmup", "5",
        "--no-progress", "--publish"],
      env,
    );
    expect(trained.code, trained.stderr).toBe(0);
    // Bad rows are reported with their line numbers, not dropped silently.
    expect(trained.stderr).toMatch(/labeled\.tsv:6: no label/);
    expect(trained.stderr).toMatch(/labeled\.tsv:7: label must be an integer 0\.\.1, got "7"/);
    const summary = JSON.parse(trained.stdout);
    expect(summary.tokenizer.libraryMismatches).toBe(0);
    expect(summary.metrics.test.rows).toBe(30);
    expect(summary.metrics.testByFile["labeled.tsv"].rows).toBe(30);
    expect(summary.published).toMatchObject({ model: "sentiment-transformer", version: 1 });
    const config = JSON.parse(await readFile(path.join(out, "config.json"), "utf8"));
    expect(config).toMatchObject({ id2label: { 0: "NEGATIVE", 1: "POSITIVE" }, label2id: { NEGATIVE: 0, POSITIVE: 1 }, max_position_embeddings: 16 });
    const split = JSON.parse(await readFile(path.join(out, "split.json"), "utf8"));
    expect(split.format).toBe("funnel-text-split/v2");
    const [part] = split.files;
    expect(part.testLines).toHaveLength(30);
    expect(new Set([...part.testLines, ...part.validationLines]).size).toBe(60);
    // The bare phrases ("great fast checkout") occur inside training sentences: held-out sentences are whole ones.
    expect(part.sentences).toBe(240);
    await verifyModelDirectory(out);

    // Only the four Hugging Face files, no manifest: what an external export looks like.
    const external = path.join(dir, "external");
    await mkdir(external);
    for (const f of [TEXT_CLASSIFIER_FILES.onnx, TEXT_CLASSIFIER_FILES.config, TEXT_CLASSIFIER_FILES.tokenizer, TEXT_CLASSIFIER_FILES.tokenizerConfig]) {
      await copyFile(path.join(out, f), path.join(external, f));
    }
    const imported = await cli(["import-hf", "--dir", external, "--name", "sst2-imported", "--alias", "production"], env);
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ model: "sst2-imported", version: 1, labels: ["NEGATIVE", "POSITIVE"], maxLength: 16, inputs: ["input_ids", "attention_mask"] });
    const registry = new FileRegistry({ dataDir: env.FUNNEL_REGISTRY_DIR!, actor: "test" });
    const version = await registry.resolve("sst2-imported", "production");
    expect(version.manifest.kind).toBe("hf-sequence-classification");
    expect(Object.keys(version.manifest.files).sort()).toEqual(["config.json", "model.onnx", "tokenizer.json", "tokenizer_config.json"]);

    await rm(path.join(external, "tokenizer.json"));
    const broken = await cli(["import-hf", "--dir", external, "--name", "sst2-imported"], env);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/tokenizer\.json is missing/);
  }, 240_000);
});
