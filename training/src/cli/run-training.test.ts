import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { FileRegistry, verifyModelDirectory } from "@funnel/registry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MODEL_FILES, OPTIONAL_MODEL_FILES, OnnxTowers, pseudonymiseUserId, readFloat32LittleEndian } from "@funnel/two-tower";
import { generateDataset, writeEvents } from "../data/index.js";
import { aggregateUserFeatures, encodeUsers, parseFeatureProfile, parseFeatureSpec } from "@funnel/two-tower";
import { evaluateModelDirectory } from "./evaluate-model-directory.js";
import { loadDataset } from "./load-dataset.js";
import { publishModelDirectory } from "./publish-model-directory.js";
import { parseRunConfig } from "./run-config.js";
import { runTraining, type RunSummary } from "./run-training.js";

const SALT = "test-salt";

describe("runTraining model directory", () => {
  let root: string;
  let summary: RunSummary;
  const quiet = (): void => {};
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "two-tower-run-"));
    const config = parseRunConfig({
      data: { generate: { users: 160, seed: 4, items: 60 } },
      model: { dim: 64, hidden: 16, sequenceLength: 6, embedding: { item: 8, page: 4, device: 4, interaction: 4, category: 4 } },
      training: { epochs: 2, batchSize: 64 },
      seed: 4,
      out: path.join(root, "model"),
    });
    summary = await runTraining(config, { salt: SALT, gitCommit: "abc123", progress: false, log: quiet });
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("writes every promised file and a manifest whose checksums verify", async () => {
    const dir = summary.out;
    const files = [...(await readdir(dir)), ...(await readdir(path.join(dir, "embeddings"))).map((f) => `embeddings/${f}`)].filter((f) => f !== "embeddings");
    expect(files.sort()).toEqual([...Object.values(MODEL_FILES), ...Object.values(OPTIONAL_MODEL_FILES), "manifest.json"].sort());
    await expect(verifyModelDirectory(dir)).resolves.toBeUndefined();
    const manifest = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8"));
    expect(manifest.kind).toBe("two-tower");
    expect(Object.keys(manifest.files).sort()).toEqual([...Object.values(MODEL_FILES), ...Object.values(OPTIONAL_MODEL_FILES)].sort());
    expect(manifest.lineage).toMatchObject({ gitCommit: "abc123", seed: 4 });
    expect(manifest.lineage.dataFingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.metrics["recall@10"]).toBe(summary.headlineMetrics["recall@10"]);
    expect(manifest.params).toMatchObject({ dim: 64, split: "leave-last", seed: 4 });
  });

  it("stores pseudonymised user ids with one embedding row each, matching the exported user tower", async () => {
    const dir = summary.out;
    const ids = (await readFile(path.join(dir, MODEL_FILES.userIds), "utf8")).trimEnd().split("\n");
    const vectors = readFloat32LittleEndian(await readFile(path.join(dir, MODEL_FILES.userEmbeddings)));
    const data = generateDataset({ users: 160, seed: 4, items: 60 });
    const rawIds = [...new Set(data.events.map((e) => e.userId))].sort();
    expect(ids).toEqual(rawIds.map((id) => pseudonymiseUserId(id, SALT)));
    expect(vectors.length).toBe(ids.length * 64);
    // Served vectors are what the ONNX user tower gives for each user's full history.
    const spec = parseFeatureSpec(JSON.parse(await readFile(path.join(dir, MODEL_FILES.featureSpec), "utf8")));
    const raw = aggregateUserFeatures(data.events, { sequenceLength: spec.sequenceLength });
    const towers = await OnnxTowers.load(dir);
    const fromOnnx = await towers.embedUsers(encodeUsers(spec, rawIds.map((id) => raw.get(id)!)));
    await towers.release();
    let maxDiff = 0;
    for (let i = 0; i < vectors.length; i++) maxDiff = Math.max(maxDiff, Math.abs(vectors[i]! - fromOnnx[i]!));
    expect(maxDiff).toBeLessThan(1e-5);
    const itemIds = (await readFile(path.join(dir, MODEL_FILES.itemIds), "utf8")).trimEnd().split("\n");
    expect(itemIds).toEqual(spec.vocab.item.tokens);
    expect((await readFile(path.join(dir, MODEL_FILES.itemEmbeddings))).length).toBe(itemIds.length * 64 * 4);
  });

  it("writes a reference feature profile of the served users and catalogue, on the spec's vocabularies", async () => {
    const dir = summary.out;
    const spec = parseFeatureSpec(JSON.parse(await readFile(path.join(dir, MODEL_FILES.featureSpec), "utf8")));
    const profile = parseFeatureProfile(JSON.parse(await readFile(path.join(dir, OPTIONAL_MODEL_FILES.featureProfile), "utf8")), spec);
    const users = (await readFile(path.join(dir, MODEL_FILES.userIds), "utf8")).trimEnd().split("\n").length;
    expect(profile.rows).toEqual({ users, items: spec.vocab.item.tokens.length });
    const total = (name: string) => profile.features.find((f) => f.name === name)!.counts.reduce((a, b) => a + b, 0);
    expect(total("user.device")).toBe(users);
    expect(total("item.page")).toBe(spec.vocab.item.tokens.length);
    expect(profile.prediction!.counts.reduce((a, b) => a + b, 0)).toBe(users);
    expect(profile.features.find((f) => f.name === "user.device")!.bins).toEqual([...spec.vocab.device.tokens, "(unknown)"]);
  });

  it("records epochs, metrics against the baseline and a self-contained report", async () => {
    const dir = summary.out;
    const epochs = JSON.parse(await readFile(path.join(dir, MODEL_FILES.epochs), "utf8"));
    expect(epochs).toHaveLength(summary.run.result.epochs.length);
    expect(Object.keys(epochs[0])).toEqual(expect.arrayContaining(["trainLoss", "validationLoss", "gradNorm", "learningRate", "validation recall@10"]));
    const metrics = JSON.parse(await readFile(path.join(dir, MODEL_FILES.metrics), "utf8"));
    expect(metrics.test.users).toBeGreaterThan(0);
    expect(metrics.baseline.users).toBe(metrics.test.users);
    for (const b of ["popularity", "itemKnn", "ease"]) expect(metrics.baselines[b].users).toBe(metrics.test.users);
    expect(metrics.coverage.test.usersScored).toBe(metrics.test.users);
    expect(metrics.selectedOn).toBe("validation recall@10");
    expect(metrics.similarUserAccuracy.label).toBe("segment");
    // The bias check covers every scored test user in each dimension, and the report shows it.
    expect(metrics.bias.dimensions.map((d: { dimension: string }) => d.dimension)).toEqual(["device", "history", "segment"]);
    for (const d of metrics.bias.dimensions) {
      expect(d.groups.reduce((n: number, g: { users: number }) => n + g.users, 0)).toBe(metrics.test.users);
    }
    expect(metrics.bias.maxRatio).toBe(1.5);
    const params = JSON.parse(await readFile(path.join(dir, MODEL_FILES.params), "utf8"));
    expect(params.model.dim).toBe(64);
    const html = await readFile(path.join(dir, MODEL_FILES.report), "utf8");
    expect(html).toContain("<svg");
    expect(html).toContain("Bias check: useful recommendations by user group");
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="http/);
  });

  it("refuses to overwrite a non-empty directory", async () => {
    const config = parseRunConfig({ data: { generate: { users: 40, seed: 1, items: 40 } }, training: { epochs: 1, batchSize: 16 }, out: summary.out });
    await expect(runTraining(config, { salt: SALT, progress: false, log: quiet })).rejects.toThrow(/is not empty/);
  });

  it("evaluates the directory on an event file through its ONNX towers", async () => {
    const data = generateDataset({ users: 160, seed: 4, items: 60 });
    const file = path.join(root, "events.jsonl");
    await writeEvents(file, data.events);
    const itemsFile = path.join(root, "items.csv");
    await writeFile(itemsFile, `item_id,category\n${data.items.map((i) => `${i.itemId},${i.category}`).join("\n")}\n`);
    const dataset = await loadDataset({ files: [file], itemsFile }, { progress: false, log: quiet });
    const evaluation = await evaluateModelDirectory(summary.out, dataset, { holdout: 0.2 });
    expect(evaluation.model.users).toBeGreaterThan(0);
    expect(evaluation.model.users).toBe(evaluation.baselines.popularity.users);
    expect(evaluation.model.users).toBe(evaluation.baselines.ease.users);
    // The directory's served policy (its served-policy.json weights) on the same users, with its intervals.
    const policy = JSON.parse(await readFile(path.join(summary.out, OPTIONAL_MODEL_FILES.servedPolicy), "utf8"));
    expect(evaluation.served?.weights).toEqual(policy.weights);
    expect(evaluation.served?.test.users).toBe(evaluation.model.users);
    expect(evaluation.served?.intervals["two-tower"]?.["recall@10"]?.users).toBe(evaluation.model.users);
    expect(evaluation.historyEvents + evaluation.heldOutEvents).toBe(data.events.length);
  });

  it("evaluate prints train's baseline figures for the same users, fitted on what the model saw (refit: train + validation)", async () => {
    const data = generateDataset({ users: 160, seed: 4, items: 60 });
    const file = path.join(root, "same-events.csv");
    await writeEvents(file, data.events);
    // The same item table too: the history model's item vectors read each item's categories, so without it the
    // items would be other items than the ones the model was trained and scored on.
    const itemsFile = path.join(root, "same-items.csv");
    await writeFile(itemsFile, `item_id,category\n${data.items.map((i) => `${i.itemId},${i.category}`).join("\n")}\n`);
    const dataset = await loadDataset({ files: [file], itemsFile }, { progress: false, log: quiet });
    // No split flags: the model directory's own protocol (leave-last 1, refit) and its tuned baseline values.
    const evaluation = await evaluateModelDirectory(summary.out, dataset);
    const run = summary.run;
    expect(evaluation.protocol).toMatchObject({ split: "leave-last 1", refit: true, baselinesFittedOn: "train + validation", baselineParams: run.baselineTuning.params });
    expect(evaluation.baselines).toEqual(run.test.baselines);
    expect(evaluation.model.users).toBe(run.test.model.users);
    expect(evaluation.coverage.usersScored).toBe(run.test.model.users);
    // The model's figures come through ONNX instead of tfjs: equal up to float rounding.
    expect(evaluation.model["recall@10"]).toBeCloseTo(run.test.model["recall@10"], 2);
    for (const b of ["popularity", "itemKnn", "ease"] as const) expect(evaluation.intervals[b]?.["recall@10"]?.users).toBe(run.test.model.users);
  });

  it("refits the model and every baseline on train + validation when asked, and says so", async () => {
    const run = summary.run;
    const metrics = JSON.parse(await readFile(path.join(summary.out, MODEL_FILES.metrics), "utf8"));
    expect(metrics.protocol).toMatchObject({ split: "leave-last 1", refit: true, bestEpoch: run.result.bestEpoch });
    // Refit: retrained for the selected number of epochs on more pairs than selection saw.
    expect(run.refit?.epochs).toHaveLength(run.result.bestEpoch);
    expect(run.task.counts.trainPairs).toBeGreaterThan(run.selectionTask.counts.trainPairs);
    expect(run.task.counts.validation).toBe(0);
    // Baselines refitted on the same pairs: each item's popularity is its users among train + validation pairs.
    const popularity = run.fittedBaselines.itemPopularity.reduce((a, b) => a + b, 0);
    expect(popularity).toBe(run.task.counts.trainPairs);
    expect(metrics.baselineParams).toEqual(run.baselineTuning.params);
    // Validation figures and coverage are the selection run's (the refit task has no validation).
    expect(metrics.coverage.validation.usersScored).toBe(run.validation.model.users);
    expect(metrics.coverage.validation.usersWithOnlySeenPositives).toBeGreaterThanOrEqual(0);
    for (const b of ["popularity", "itemKnn", "ease"]) expect(metrics.intervals[b]["recall@10"]).toMatchObject({ users: run.test.model.users, verdict: expect.any(String) });
  });

  it("publishes to a file registry, promoting only when the metric improves", async () => {
    const registry = new FileRegistry({ dataDir: path.join(root, "registry"), actor: "test" });
    const first = await publishModelDirectory(registry, summary.out, { name: "two-tower", promoteIfBetter: "recall@10", alias: "production" });
    expect(first).toMatchObject({ model: "two-tower", version: 1, promoted: true });
    // Same directory again: recall@10 ties, and a tie does not move the alias.
    const second = await publishModelDirectory(registry, summary.out, { name: "two-tower", promoteIfBetter: "recall@10", alias: "production" });
    expect(second).toMatchObject({ version: 2, promoted: false });
    expect(second.reason).toMatch(/does not beat/);
    expect((await registry.getAliases("two-tower")).production).toBe(1);
  });
});
