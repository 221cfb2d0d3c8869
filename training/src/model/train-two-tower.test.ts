import { describe, expect, it } from "vitest";
import { tinyTrainedModel } from "./testing/tiny-trained-model.js";
import { DEFAULT_TRAIN_OPTIONS, evaluateLoss, trainTwoTower } from "./train-two-tower.js";

describe("trainTwoTower", () => {
  it("is deterministic for a seed and differs for another seed", async () => {
    const options = { epochs: 2, dropout: 0.1, extraNegatives: 4, patience: 5 };
    const a = await tinyTrainedModel({ ...options, seed: 5 });
    const b = await tinyTrainedModel({ ...options, seed: 5 });
    const c = await tinyTrainedModel({ ...options, seed: 6 });
    const wa = a.result.model.getWeights();
    const wb = b.result.model.getWeights();
    const wc = c.result.model.getWeights();
    for (const name of Object.keys(wa)) expect(wb[name]!.values, name).toEqual(wa[name]!.values);
    expect(b.result.epochs.map((e) => [e.trainLoss, e.validationLoss, e.gradNorm])).toEqual(
      a.result.epochs.map((e) => [e.trainLoss, e.validationLoss, e.gradNorm]),
    );
    expect(wc["user.dense0.kernel"]!.values).not.toEqual(wa["user.dense0.kernel"]!.values);
    for (const r of [a, b, c]) r.result.model.dispose();
  });

  it("trains the same in one thread and with parallel towers, up to float rounding", async () => {
    const options = { epochs: 2, dropout: 0.2, extraNegatives: 3, patience: 5 };
    const single = await tinyTrainedModel({ ...options, parallelTowers: false });
    const parallel = await tinyTrainedModel({ ...options, parallelTowers: true });
    const logs = (r: typeof single) => r.result.epochs.map((e) => [e.trainLoss, e.validationLoss, e.gradNorm]);
    for (const [i, [trainLoss, validationLoss, gradNorm]] of logs(single).entries()) {
      const [pt, pv, pg] = logs(parallel)[i]!;
      expect(pt, `epoch ${i + 1} train loss`).toBeCloseTo(trainLoss!, 4);
      expect(pv, `epoch ${i + 1} validation loss`).toBeCloseTo(validationLoss!, 4);
      expect(pg! / gradNorm!, `epoch ${i + 1} gradient norm`).toBeCloseTo(1, 3);
    }
    // The model handed back holds the workers' weights: it scores validation as the epoch log says.
    const again = evaluateLoss(parallel.result.model, parallel.task.training, parallel.task.training.validation, { ...DEFAULT_TRAIN_OPTIONS, batchSize: 64 });
    expect(again).toBeCloseTo(parallel.result.epochs[parallel.result.bestEpoch - 1]!.validationLoss, 5);
    for (const r of [single, parallel]) r.result.model.dispose();
  });

  it("lowers the training loss and logs every epoch", async () => {
    const { result } = await tinyTrainedModel({ epochs: 4, patience: 10, learningRate: 5e-3, schedule: "constant" });
    const epochs = result.epochs;
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4]);
    expect(epochs[3]!.trainLoss).toBeLessThan(epochs[0]!.trainLoss);
    for (const e of epochs) {
      expect(Number.isFinite(e.validationLoss)).toBe(true);
      expect(e.gradNorm).toBeGreaterThan(0);
      expect(e.learningRate).toBe(5e-3);
    }
    result.model.dispose();
  });

  it("stops early and keeps the best epoch's weights", async () => {
    // A learning rate this high overfits 150 users within a couple of epochs, so validation loss turns up.
    const { task, result } = await tinyTrainedModel({ epochs: 12, patience: 1, learningRate: 0.05, schedule: "constant" });
    const best = Math.min(...result.epochs.map((e) => e.validationLoss));
    expect(result.epochs[result.bestEpoch - 1]!.validationLoss).toBe(best);
    expect(result.stoppedEarly).toBe(true);
    expect(result.epochs.length).toBe(result.bestEpoch + 1);
    expect(result.epochs.at(-1)!.validationLoss).toBeGreaterThan(best);
    // The restored weights reproduce the best validation loss, not the last epoch's.
    const again = evaluateLoss(result.model, task.training, task.training.validation, { ...DEFAULT_TRAIN_OPTIONS, batchSize: 64 });
    expect(again).toBeCloseTo(best, 4);
    result.model.dispose();
  });

  it("selects and stops on the validation metric, breaking ties by validation loss", async () => {
    // Scripted metric per epoch: best at epoch 2, tied at epoch 4, lower after; patience 3 stops three epochs
    // after the kept one, so the 0.9 of epoch 8 is never reached.
    const script = [0.1, 0.3, 0.2, 0.3, 0.25, 0.2, 0.29, 0.9];
    let calls = 0;
    const hooks = { epochMetrics: () => ({ "validation recall@10": script[calls++]! }) };
    const { result } = await tinyTrainedModel({ epochs: 8, patience: 3, learningRate: 5e-3, schedule: "constant" }, { hooks });
    expect(result.selectedOn).toBe("validation recall@10");
    const [second, fourth] = [result.epochs[1]!.validationLoss, result.epochs[3]!.validationLoss];
    expect(result.bestEpoch).toBe(fourth < second ? 4 : 2);
    expect(result.epochs.length).toBe(result.bestEpoch + 3);
    expect(result.stoppedEarly).toBe(true);
    result.model.dispose();

    calls = 0;
    const byLoss = await tinyTrainedModel({ epochs: 3, patience: 3, selectOn: "loss" }, { hooks });
    const losses = byLoss.result.epochs.map((e) => e.validationLoss);
    expect(byLoss.result.selectedOn).toBe("validationLoss");
    expect(byLoss.result.bestEpoch).toBe(losses.indexOf(Math.min(...losses)) + 1);
    byLoss.result.model.dispose();
  });

  it("rejects bad options with every problem named", async () => {
    const { task, config, result } = await tinyTrainedModel();
    result.model.dispose();
    await expect(trainTwoTower(config, task.training, { ...DEFAULT_TRAIN_OPTIONS, batchSize: 1, learningRate: 2 })).rejects.toThrow(
      /batchSize must be an integer >= 2.*learningRate must be in \(0, 1\)/,
    );
  });
});
