import { describe, expect, it } from "vitest";
import { pseudonymiseUserId } from "@funnel/two-tower";
import { createSeededRandom, generateDataset } from "../data/index.js";
import { AdamOptimizer } from "./adam-optimizer.js";
import { buildRetrievalTask } from "./build-retrieval-task.js";
import { initBackend } from "./init-backend.js";
import { ParallelTowerTrainer } from "./parallel-tower-trainer.js";
import { assembleBatch, DEFAULT_TRAIN_OPTIONS, trainStep } from "./train-two-tower.js";
import { initialWeights, towerConfigFromSpec, TwoTowerModel } from "./two-tower-model.js";

async function fixture(userIdBuckets = 0) {
  await initBackend({ prefer: "wasm" });
  const data = generateDataset({ users: 150, seed: 3, items: 60 });
  const ids = userIdBuckets > 0 ? { userIdBuckets, pseudonymOf: (id: string) => pseudonymiseUserId(id, "test-salt") } : {};
  const task = buildRetrievalTask(data.events, { strategy: "time", seed: 3, itemAttributes: data.items, sequenceLength: 8, ...ids });
  const config = towerConfigFromSpec(task.spec, { dim: 16, hidden: 24, embedding: { item: 8, page: 4, device: 4, interaction: 4, category: 4, userId: 4 } });
  return { task, config };
}

describe("ParallelTowerTrainer", () => {
  // Also with the hashed user-id embedding and its id dropout (the same draws in both modes).
  it.each([0, 64])("follows the single-thread trainStep (user-id buckets %i): same losses, gradient norms and weights up to float rounding", async (buckets) => {
    const { task, config } = await fixture(buckets);
    const idDropout = () => ({ rate: 0.3, rng: createSeededRandom(12) });
    const singleIds = idDropout();
    const parallelIds = idDropout();
    // Dropout and extra negatives on, so the per-segment dropout masks and the extra item rows are covered too.
    const options = { ...DEFAULT_TRAIN_OPTIONS, batchSize: 32, dropout: 0.3, extraNegatives: 5, seed: 4 };
    const pairs = task.training.train.pairs.user.length;
    const steps = Array.from({ length: 6 }, (_, s) => ({
      rows: Int32Array.from({ length: 32 }, (_, i) => (s * 32 + i * 13) % pairs),
      extra: Int32Array.from({ length: 5 }, (_, i) => (s * 7 + i * 11) % task.training.items.count),
      learningRate: 5e-3 * (1 - s / 10),
    }));

    const model = TwoTowerModel.create(config, 9);
    const optimizer = new AdamOptimizer({ weightDecay: options.weightDecay, decays: (n) => n.endsWith(".kernel") });
    const single = steps.map((s, i) => trainStep(model, optimizer, task.training, task.training.train, s.rows, s.extra, options, s.learningRate, i, singleIds));
    const singleWeights = model.getWeights();
    model.dispose();

    const trainer = await ParallelTowerTrainer.create(config, initialWeights(config, 9), { weightDecay: options.weightDecay });
    try {
      const parallel = [];
      for (const [i, s] of steps.entries()) {
        const batch = assembleBatch(task.training, task.training.train, s.rows, s.extra, options, parallelIds);
        parallel.push(await trainer.step(batch, options, s.learningRate, i));
      }
      const parallelWeights = await trainer.getWeights();
      // The trajectory moves: a comparison of six identical numbers would prove little.
      expect(single[0]!.loss - single[5]!.loss).toBeGreaterThan(0.01);
      for (const [i, s] of single.entries()) {
        expect(parallel[i]!.loss, `loss at step ${i}`).toBeCloseTo(s.loss, 4);
        expect(parallel[i]!.gradNorm / s.gradNorm, `gradient norm at step ${i}`).toBeCloseTo(1, 4);
      }
      expect(Object.keys(parallelWeights).sort()).toEqual(Object.keys(singleWeights).sort());
      // With buckets the id table is trained (it starts at zero), so its comparison below is not between zeros.
      if (buckets > 0) expect(singleWeights["emb.userId"]!.values.some((v) => v !== 0)).toBe(true);
      for (const [name, w] of Object.entries(singleWeights)) {
        const p = parallelWeights[name]!;
        expect(p.shape, name).toEqual(w.shape);
        let maxDiff = 0;
        for (let k = 0; k < w.values.length; k++) maxDiff = Math.max(maxDiff, Math.abs(p.values[k]! - w.values[k]!));
        expect(maxDiff, name).toBeLessThan(1e-4);
      }
    } finally {
      await trainer.dispose();
    }
  });

  it("reports an out-of-range feature index with the table's name", async () => {
    const { task, config } = await fixture();
    const trainer = await ParallelTowerTrainer.create(config, initialWeights(config, 1), { weightDecay: 0 });
    try {
      const rows = Int32Array.from({ length: 8 }, (_, i) => i);
      const batch = assembleBatch(task.training, task.training.train, rows, undefined, { ...DEFAULT_TRAIN_OPTIONS, batchSize: 8 });
      batch.items.category[3] = 10_000;
      await expect(trainer.step(batch, { temperature: 0.2, dropout: 0, seed: 1 }, 1e-3, 0)).rejects.toThrow(/emb\.category: index 10000 at position 3/);
    } finally {
      await trainer.dispose();
    }
  });
});
