/**
 * Where one training step's time goes, at the benchmark's size (3,000 generated users, batch 512, dim 128,
 * hidden 256, no dropout), in both modes: `npm run profile -w @funnel/training` (run it alone: it is timing).
 *
 * One thread: the towers' and the loss's forward passes are timed on their own, then the whole step as
 * trainStep runs it (forward again, backward, gradient norm) and Adam; so the forward rows are part of the
 * "forward + backward" row, not additions to it. Parallel towers: ParallelTowerTrainer's own per-phase timings.
 */
import * as tf from "@tensorflow/tfjs";
import { generateDataset } from "../src/data/index.js";
import { AdamOptimizer } from "../src/model/adam-optimizer.js";
import { buildRetrievalTask } from "../src/model/build-retrieval-task.js";
import { inBatchSoftmaxLoss } from "../src/model/in-batch-softmax-loss.js";
import { initBackend } from "../src/model/init-backend.js";
import { ParallelTowerTrainer } from "../src/model/parallel-tower-trainer.js";
import { assembleBatch, DEFAULT_TRAIN_OPTIONS } from "../src/model/train-two-tower.js";
import { initialWeights, towerConfigFromSpec, TwoTowerModel } from "../src/model/two-tower-model.js";

const WARMUP = 5;
const STEPS = 40;

await initBackend();
const data = generateDataset({ users: 3000, seed: 7 });
const task = buildRetrievalTask(data.events, { strategy: "time", seed: 7, itemAttributes: data.items });
const config = towerConfigFromSpec(task.spec, { dim: 128 });
const options = { ...DEFAULT_TRAIN_OPTIONS, dropout: 0 };
const pairs = task.training.train.pairs.user.length;
const rows = Int32Array.from({ length: 512 }, (_, i) => (i * 7919) % pairs);
const assemble = () => assembleBatch(task.training, task.training.train, rows, undefined, options);
const print = (title: string, total: number, timings: Record<string, number>): void => {
  console.log(`${title}: ${(total / STEPS).toFixed(2)} ms per step`);
  for (const [phase, ms] of Object.entries(timings)) console.log(`  ${phase.padEnd(58)} ${(ms / STEPS).toFixed(2)} ms`);
};

const model = TwoTowerModel.create(config, 7);
const optimizer = new AdamOptimizer({ weightDecay: options.weightDecay, decays: (n) => n.endsWith(".kernel") });
const names = Object.keys(model.variables);
const variables = names.map((k) => model.variables[k]!);
const byVariable = new Map(names.map((k) => [model.variables[k]!.name, k]));
const single: Record<string, number> = {};
let singleTotal = 0;
for (let s = 0; s < WARMUP + STEPS; s++) {
  const timed = s >= WARMUP;
  const add = (phase: string, started: number): number => {
    const now = performance.now();
    if (timed) single[phase] = (single[phase] ?? 0) + now - started;
    return now;
  };
  const stepStarted = performance.now();
  let mark = stepStarted;
  const batch = assemble();
  mark = add("assemble batch", mark);
  tf.tidy(() => {
    const u = model.userTower(batch.users);
    u.dataSync();
    mark = add("(user tower forward)", mark);
    const v = model.itemTower(batch.items);
    v.dataSync();
    mark = add("(item tower forward)", mark);
    inBatchSoftmaxLoss({ users: u, items: v, temperature: options.temperature, logQ: batch.logQ, itemIds: batch.itemIds }).dataSync();
    mark = add("(scores + loss forward)", mark);
  });
  mark = performance.now();
  tf.tidy(() => {
    const { value, grads } = tf.variableGrads(
      () =>
        inBatchSoftmaxLoss({ users: model.userTower(batch.users), items: model.itemTower(batch.items), temperature: options.temperature, logQ: batch.logQ, itemIds: batch.itemIds }),
      variables,
    );
    const named: Record<string, tf.Tensor> = {};
    for (const [k, g] of Object.entries(grads)) named[byVariable.get(k)!] = g;
    tf.stack([value, tf.addN(Object.values(named).map((g) => tf.sum(tf.square(g))))]).dataSync();
    mark = add("forward + backward + gradient norm (as trainStep)", mark);
    optimizer.apply(model.variables, named, options.learningRate);
    mark = add("Adam", mark);
  });
  if (timed) singleTotal += performance.now() - stepStarted;
}
model.dispose();
// The separately timed forward passes are not part of a real step.
const forwardOnly = ["(user tower forward)", "(item tower forward)", "(scores + loss forward)"].reduce((sum, k) => sum + (single[k] ?? 0), 0);
print("one thread (trainStep)", singleTotal - forwardOnly, single);

const trainer = await ParallelTowerTrainer.create(config, initialWeights(config, 7), { weightDecay: options.weightDecay });
let next = trainer.prepare(assemble());
let parallelTotal = 0;
for (let s = 0; s < WARMUP + STEPS; s++) {
  if (s === WARMUP) for (const k of Object.keys(trainer.timings)) trainer.timings[k] = 0;
  const started = performance.now();
  const pending = trainer.step(next, options, options.learningRate, s);
  // As trainTwoTower does: the next batch is prepared while the workers run this step.
  next = trainer.prepare(assemble());
  await pending;
  if (s >= WARMUP) parallelTotal += performance.now() - started;
}
await trainer.dispose();
print("parallel towers (ParallelTowerTrainer)", parallelTotal, trainer.timings);
