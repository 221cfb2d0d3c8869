import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/model/init-backend.js";
import { TextTransformerModel, initialWeights, padBatch } from "../src/text-classifier/text-transformer-model.js";
console.log(await initBackend());
const c = { vocabSize: 6000, maxLength: 64, dim: 64, heads: 4, layers: 2, ffnDim: 256, numLabels: 2 };
const model = new TextTransformerModel(c, initialWeights(c, 1));
const B = 64, L = 24;
const rows = Array.from({ length: B }, (_, i) => Array.from({ length: L - (i % 10) }, (_, j) => 5 + ((i * 31 + j * 7) % 5000)));
const batch = padBatch(rows);
const labels = tf.oneHot(tf.tensor1d(rows.map((_, i) => i % 2), "int32"), 2);
const vars = Object.values(model.variables);
for (let i = 0; i < 2; i++) tf.tidy(() => tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, model.logits(batch)) as tf.Scalar, vars).value.dataSync());
const info = await tf.profile(() => tf.tidy(() => { const r = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, model.logits(batch)) as tf.Scalar, vars); r.value.dataSync(); }));
const agg = new Map<string, { ms: number; n: number }>();
for (const k of info.kernels) { const a = agg.get(k.name) ?? { ms: 0, n: 0 }; a.ms += k.kernelTimeMs as number; a.n++; agg.set(k.name, a); }
console.log([...agg].sort((a, b) => b[1].ms - a[1].ms).slice(0, 20).map(([n, a]) => `${n} ${a.ms.toFixed(1)}ms x${a.n}`).join("\n"));
console.log(info.kernels.filter((k) => ["BatchMatMul", "Sum", "SplitV", "Concat", "Identity", "Transpose"].includes(k.name)).sort((a, b) => (b.kernelTimeMs as number) - (a.kernelTimeMs as number)).slice(0, 30).map((k) => `${k.name} ${(k.kernelTimeMs as number).toFixed(1)} in ${JSON.stringify(k.inputShapes)} out ${JSON.stringify(k.outputShapes)}`).join("\n"));
