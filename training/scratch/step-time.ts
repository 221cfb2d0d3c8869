import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/model/init-backend.js";
import { AdamOptimizer } from "../src/model/adam-optimizer.js";
import { TextTransformerModel, initialWeights, padBatch } from "../src/text-classifier/text-transformer-model.js";
await initBackend();
for (const [dim, B, L, ffn] of [[64, 64, 24, 256], [64, 64, 16, 128], [64, 32, 16, 256], [96, 64, 16, 256], [128, 64, 16, 256]] as const) {
  const c = { vocabSize: 6000, maxLength: 64, dim, heads: 4, layers: 2, ffnDim: ffn, numLabels: 2 };
  const model = new TextTransformerModel(c, initialWeights(c, 1));
  const opt = new AdamOptimizer({});
  const rows = Array.from({ length: B }, (_, i) => Array.from({ length: L - (i % 10) }, (_, j) => 5 + ((i * 31 + j * 7) % 5000)));
  const batch = padBatch(rows);
  const labels = tf.oneHot(tf.tensor1d(rows.map((_, i) => i % 2), "int32"), 2);
  const vars = Object.values(model.variables);
  const byName = new Map(Object.entries(model.variables).map(([n, v]) => [v.name, n]));
  const times: number[] = [];
  for (let s = 0; s < 8; s++) {
    const t = performance.now();
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, model.logits(batch, { dropout: 0.1, seed: s })) as tf.Scalar, vars);
      const named: Record<string, tf.Tensor> = {};
      for (const [n, g] of Object.entries(grads)) named[byName.get(n)!] = g;
      value.dataSync();
      opt.apply(model.variables, named, 1e-3);
    });
    times.push(performance.now() - t);
  }
  const fwd = performance.now(); for (let s = 0; s < 5; s++) tf.tidy(() => model.logits(batch).dataSync()); const f = (performance.now() - fwd) / 5;
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ dim, B, L, ffn, stepMedianMs: +times[4]!.toFixed(1), forwardMs: +f.toFixed(1), samplesPerSec: Math.round(B / times[4]! * 1000), tensors: tf.memory().numTensors }));
  model.dispose();
}
