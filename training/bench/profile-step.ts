import * as tf from "@tensorflow/tfjs";
import { generateDataset } from "../src/data/index.js";
import { AdamOptimizer } from "../src/model/adam-optimizer.js";
import { buildRetrievalTask } from "../src/model/build-retrieval-task.js";
import { inBatchSoftmaxLoss } from "../src/model/in-batch-softmax-loss.js";
import { initBackend } from "../src/model/init-backend.js";
import { assembleBatch, DEFAULT_TRAIN_OPTIONS } from "../src/model/train-two-tower.js";
import { towerConfigFromSpec, TwoTowerModel } from "../src/model/two-tower-model.js";

await initBackend();
const data = generateDataset({ users: 3000, seed: 7 });
const task = buildRetrievalTask(data.events, { strategy: "time", seed: 7, itemAttributes: data.items });
const config = towerConfigFromSpec(task.spec, { dim: 128 });
const model = TwoTowerModel.create(config, 7);
const opt = new AdamOptimizer({ weightDecay: 1e-5, decays: (n) => n.endsWith(".kernel") });
const o = { ...DEFAULT_TRAIN_OPTIONS, dropout: 0 };
const n = task.training.train.pairs.user.length;
const rows = Int32Array.from({ length: 512 }, (_, i) => (i * 7919) % n);
const t: Record<string, number> = {};
const add = (k: string, ms: number) => { t[k] = (t[k] ?? 0) + ms; };
const names = Object.keys(model.variables);
const vars = names.map((k) => model.variables[k]!);
const byName = new Map(names.map((k) => [model.variables[k]!.name, k]));
const S = 40;
for (let s = 0; s < S + 5; s++) {
  if (s === 5) for (const k of Object.keys(t)) t[k] = 0;
  let a = performance.now();
  const batch = assembleBatch(task.training, task.training.train, rows, undefined, o);
  add("assemble", performance.now() - a);
  tf.tidy(() => {
    a = performance.now();
    const u = model.userTower(batch.users); u.dataSync(); add("user fwd", performance.now() - a);
    a = performance.now();
    const v = model.itemTower(batch.items); v.dataSync(); add("item fwd", performance.now() - a);
    a = performance.now();
    inBatchSoftmaxLoss({ users: u, items: v, temperature: 0.2, logQ: batch.logQ, itemIds: batch.itemIds }).dataSync(); add("scores+loss fwd", performance.now() - a);
    a = performance.now();
    const { value, grads } = tf.variableGrads(() => inBatchSoftmaxLoss({ users: model.userTower(batch.users), items: model.itemTower(batch.items), temperature: 0.2, logQ: batch.logQ, itemIds: batch.itemIds }), vars);
    const named: Record<string, tf.Tensor> = {};
    for (const [k, g] of Object.entries(grads)) named[byName.get(k)!] = g;
    const ns = tf.addN(Object.values(named).map((g) => tf.sum(tf.square(g))));
    tf.stack([value, ns]).dataSync();
    add("full fwd+bwd (variableGrads+norm)", performance.now() - a);
    a = performance.now();
    opt.apply(model.variables, named, 1e-3);
    add("adam", performance.now() - a);
  });
}
for (const [k, v] of Object.entries(t)) console.log(`${k.padEnd(36)} ${(v / S).toFixed(2)} ms`);

const { ParallelTowerTrainer } = await import("../src/model/parallel-tower-trainer.js");
const { initialWeights } = await import("../src/model/two-tower-model.js");
const trainer = await ParallelTowerTrainer.create(config, initialWeights(config, 7), { weightDecay: 1e-5 });
for (let s = 0; s < 5; s++) await trainer.step(assembleBatch(task.training, task.training.train, rows, undefined, o), o, 1e-3, s);
for (const k of Object.keys(trainer.timings)) trainer.timings[k] = 0;
const started = performance.now();
let next = trainer.prepare(assembleBatch(task.training, task.training.train, rows, undefined, o));
for (let s = 0; s < S; s++) {
  const pending = trainer.step(next, o, 1e-3, s);
  // As trainTwoTower does: the next batch is prepared while the workers run this step.
  next = trainer.prepare(assembleBatch(task.training, task.training.train, rows, undefined, o));
  await pending;
}
console.log(`parallel step total ${((performance.now() - started) / S).toFixed(2)} ms`);
for (const [k, v] of Object.entries(trainer.timings)) console.log(`  ${k.padEnd(36)} ${(v / S).toFixed(2)} ms`);
await trainer.dispose();
