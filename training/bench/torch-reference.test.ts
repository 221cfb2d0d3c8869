import { describe, expect, it } from "vitest";
import { hasTorch } from "./has-torch.js";
import { loadDataset } from "../src/cli/load-dataset.js";
import { parseRunConfig } from "../src/cli/run-config.js";
import { trainAndEvaluate } from "../src/cli/run-training.js";
import { runTorchReference } from "./torch-reference.js";

describe("runTorchReference", () => {
  // With and without the hashed user-id embedding: the reference builds the same user tower as tfjs either way.
  it.skipIf(!hasTorch()).each([0, 64])("trains the PyTorch two-tower (user-id buckets %i) on the tfjs run's split and scores it with the same metrics", async (userIdBuckets) => {
    const config = parseRunConfig({
      data: { generate: { users: 120, seed: 3, items: 40 } },
      split: { strategy: "leave-last", holdoutLast: 1 },
      model: { architecture: "mlp", dim: 64, hidden: 16, sequenceLength: 6, userIdBuckets },
      training: { epochs: 2, batchSize: 32, parallelTowers: false },
    });
    const log = () => {};
    const run = await trainAndEvaluate(config, await loadDataset(config.data, { progress: false, log }), { progress: false, log });
    const torch = await runTorchReference(run, { python: "python3", log });
    run.result.model.dispose();
    expect(torch.available).toBe(true);
    expect(torch.epochs).toHaveLength(2);
    expect(torch.test!.users).toBe(run.test.model.users);
    expect(torch.test!["recall@20"]).toBeGreaterThan(0);
    expect(torch.validation!["recall@10"]).toBe(Math.max(...torch.epochs!.map((e) => e["validation recall@10"])));
  }, 120_000);

  it("says why when Python is missing", async () => {
    const config = parseRunConfig({ data: { generate: { users: 60, seed: 3, items: 40 } }, model: { dim: 64, hidden: 8, sequenceLength: 4 }, training: { epochs: 1, batchSize: 16, parallelTowers: false } });
    const log = () => {};
    const run = await trainAndEvaluate(config, await loadDataset(config.data, { progress: false, log }), { progress: false, log });
    run.result.model.dispose();
    const lines: string[] = [];
    const result = await runTorchReference(run, { python: "python-that-does-not-exist", log: (line) => lines.push(line) });
    expect(result).toEqual({ available: false, reason: "python-that-does-not-exist cannot import torch (pip install torch)" });
    // Nothing announces a reference run that cannot happen.
    expect(lines.filter((l) => /PyTorch reference:/.test(l))).toEqual([]);
  }, 120_000);
});
