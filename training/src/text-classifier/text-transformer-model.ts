import * as tf from "@tensorflow/tfjs";
import { createSeededRandom } from "../data/seeded-random.js";
import { embeddingBag } from "../model/embedding-bag.js";
import { dense } from "../model/mat-mul.js";

/** Sizes of the encoder; recorded in params.json and the exported config.json. */
export interface TextTransformerConfig {
  vocabSize: number;
  /** Longest input in tokens including [CLS] and [SEP]; the position table has this many rows. */
  maxLength: number;
  dim: number;
  heads: number;
  layers: number;
  /** Width of each layer's feed-forward block. */
  ffnDim: number;
  numLabels: number;
}

/** Weight name → row-major values and shape, the form export and checkpoints use. */
export type TextTransformerWeights = Record<string, { shape: number[]; values: Float32Array }>;

/** LayerNormalization epsilon; the ONNX op's default, so export needs no float attribute. */
export const LAYER_NORM_EPSILON = 1e-5;
/** Added to the attention scores of padding keys (not -Infinity: a softmax of all -Infinity would be NaN). */
export const MASK_NEGATIVE = -1e9;

/** A padded batch: ids and mask are row-major [batch, length]; padding has id 0 and mask 0. */
export interface TokenBatch {
  ids: Int32Array;
  mask: Float32Array;
  batch: number;
  length: number;
}

export function parameterShapes(c: TextTransformerConfig): Record<string, number[]> {
  const shapes: Record<string, number[]> = {
    "embeddings.token": [c.vocabSize, c.dim],
    "embeddings.position": [c.maxLength, c.dim],
  };
  for (let l = 0; l < c.layers; l++) {
    const p = `layer${l}`;
    Object.assign(shapes, {
      [`${p}.ln1.gamma`]: [c.dim],
      [`${p}.ln1.beta`]: [c.dim],
      [`${p}.attention.query.kernel`]: [c.dim, c.dim],
      [`${p}.attention.query.bias`]: [c.dim],
      [`${p}.attention.key.kernel`]: [c.dim, c.dim],
      [`${p}.attention.key.bias`]: [c.dim],
      [`${p}.attention.value.kernel`]: [c.dim, c.dim],
      [`${p}.attention.value.bias`]: [c.dim],
      [`${p}.attention.out.kernel`]: [c.dim, c.dim],
      [`${p}.attention.out.bias`]: [c.dim],
      [`${p}.ln2.gamma`]: [c.dim],
      [`${p}.ln2.beta`]: [c.dim],
      [`${p}.ffn.in.kernel`]: [c.dim, c.ffnDim],
      [`${p}.ffn.in.bias`]: [c.ffnDim],
      [`${p}.ffn.out.kernel`]: [c.ffnDim, c.dim],
      [`${p}.ffn.out.bias`]: [c.dim],
    });
  }
  Object.assign(shapes, {
    "final.ln.gamma": [c.dim],
    "final.ln.beta": [c.dim],
    "classifier.kernel": [c.dim, c.numLabels],
    "classifier.bias": [c.numLabels],
  });
  return shapes;
}

/** Seeded initialisation: N(0, 0.02) embeddings (BERT), Glorot-uniform kernels, zero biases, unit LayerNorm gains. */
export function initialWeights(c: TextTransformerConfig, seed: number): TextTransformerWeights {
  const random = createSeededRandom(seed);
  const weights: TextTransformerWeights = {};
  for (const [name, shape] of Object.entries(parameterShapes(c))) {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.startsWith("embeddings.")) for (let i = 0; i < values.length; i++) values[i] = 0.02 * random.normal();
    else if (name.endsWith(".kernel")) {
      const limit = Math.sqrt(6 / (shape[0]! + shape[1]!));
      for (let i = 0; i < values.length; i++) values[i] = (2 * random.next() - 1) * limit;
    } else if (name.endsWith(".gamma")) values.fill(1);
    weights[name] = { shape, values };
  }
  return weights;
}

/**
 * a · b for rank-3 tensors (a batch of matrices) with a gradient made only of untransposed batched matMuls
 * after explicit transposes: the same WASM fast path `matMul` in ../model/mat-mul.ts takes for rank 2.
 */
export function batchMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, y, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
    save([x, y]);
    return {
      value: tf.matMul(x, y),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sy] = saved as [tf.Tensor3D, tf.Tensor3D];
        const d = dy as tf.Tensor3D;
        return [tf.matMul(d, tf.transpose(sy, [0, 2, 1])), tf.matMul(tf.transpose(sx, [0, 2, 1]), d)];
      },
    };
  });
  return op(a, b) as tf.Tensor3D;
}

/** LayerNorm over the last axis of [rows, dim]. */
function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor2D {
  const mean = tf.mean(x, -1, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), -1, true);
  return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, LAYER_NORM_EPSILON))), gamma), beta) as tf.Tensor2D;
}

/**
 * Pre-LayerNorm transformer encoder (token + learned position embeddings, `layers` blocks of multi-head
 * self-attention and a ReLU feed-forward, final LayerNorm), masked-mean pooling over real tokens, and a linear
 * classifier. build-onnx-text-classifier.ts writes the same computation as an ONNX graph.
 */
/** tfjs variable names are global; a per-instance prefix lets two models (e.g. best and current) coexist. */
let instances = 0;

export class TextTransformerModel {
  readonly variables: Record<string, tf.Variable>;

  constructor(
    readonly config: TextTransformerConfig,
    weights: TextTransformerWeights,
  ) {
    const expected = parameterShapes(config);
    this.variables = {};
    const prefix = `text${instances++}`;
    for (const [name, shape] of Object.entries(expected)) {
      const w = weights[name];
      if (!w) throw new Error(`TextTransformerModel: weights are missing "${name}"`);
      if (w.shape.join("x") !== shape.join("x")) throw new Error(`TextTransformerModel: "${name}" has shape [${w.shape}], expected [${shape}]`);
      this.variables[name] = tf.variable(tf.tensor(w.values, shape), true, `${prefix}.${name}`);
    }
  }

  /** Logits [batch, numLabels]. With `dropout` > 0 (training) dropout is applied after embeddings and each sublayer. */
  logits(input: TokenBatch, options: { dropout?: number; seed?: number } = {}): tf.Tensor2D {
    const c = this.config;
    const { batch: B, length: L } = input;
    if (L > c.maxLength) throw new RangeError(`batch length ${L} exceeds the model's maxLength ${c.maxLength}`);
    const v = (name: string): tf.Variable => this.variables[name]!;
    const rate = options.dropout ?? 0;
    let seed = options.seed ?? 0;
    const drop = <T extends tf.Tensor>(x: T): T => (rate > 0 ? (tf.dropout(x, rate, undefined, seed++) as T) : x);
    const H = c.heads;
    const dk = c.dim / H;

    const tokens = embeddingBag(v("embeddings.token") as tf.Tensor2D, input.ids, B * L, 1, "none");
    const positions = tf.slice(v("embeddings.position"), [0, 0], [L, c.dim]);
    let x = drop(tf.reshape(tf.add(tf.reshape(tokens, [B, L, c.dim]), positions), [B * L, c.dim]) as tf.Tensor2D);
    const maskBias = tf.reshape(tf.mul(tf.sub(1, tf.tensor2d(input.mask, [B, L])), MASK_NEGATIVE), [B, 1, 1, L]);
    const heads = (t: tf.Tensor): tf.Tensor3D => tf.reshape(tf.transpose(tf.reshape(t, [B, L, H, dk]), [0, 2, 1, 3]), [B * H, L, dk]);

    for (let l = 0; l < c.layers; l++) {
      const p = `layer${l}`;
      const h = layerNorm(x, v(`${p}.ln1.gamma`), v(`${p}.ln1.beta`));
      // Three projections rather than one fused [dim, 3·dim]: on WASM the split's gradient (a Concat) cost more
      // than the two extra matMuls save.
      const project = (which: string): tf.Tensor2D =>
        dense(h, v(`${p}.attention.${which}.kernel`) as tf.Tensor2D, v(`${p}.attention.${which}.bias`) as tf.Tensor1D, "linear");
      const scores = batchMatMul(tf.mul(heads(project("query")), 1 / Math.sqrt(dk)), tf.transpose(heads(project("key")), [0, 2, 1]));
      const probs = tf.reshape(tf.softmax(tf.add(tf.reshape(scores, [B, H, L, L]), maskBias)), [B * H, L, L]) as tf.Tensor3D;
      const context = batchMatMul(probs, heads(project("value")));
      const merged = tf.reshape(tf.transpose(tf.reshape(context, [B, H, L, dk]), [0, 2, 1, 3]), [B * L, c.dim]) as tf.Tensor2D;
      x = tf.add(x, drop(dense(merged, v(`${p}.attention.out.kernel`) as tf.Tensor2D, v(`${p}.attention.out.bias`) as tf.Tensor1D, "linear")));
      const h2 = layerNorm(x, v(`${p}.ln2.gamma`), v(`${p}.ln2.beta`));
      const inner = dense(h2, v(`${p}.ffn.in.kernel`) as tf.Tensor2D, v(`${p}.ffn.in.bias`) as tf.Tensor1D, "relu");
      x = tf.add(x, drop(dense(inner, v(`${p}.ffn.out.kernel`) as tf.Tensor2D, v(`${p}.ffn.out.bias`) as tf.Tensor1D, "linear")));
    }
    const final = layerNorm(x, v("final.ln.gamma"), v("final.ln.beta"));
    // Masked mean as one batched matMul of the normalised mask rows: cheaper on WASM than a Sum over axis 1.
    const poolWeights = new Float32Array(B * L);
    for (let b = 0; b < B; b++) {
      let count = 0;
      for (let t = 0; t < L; t++) count += input.mask[b * L + t]!;
      for (let t = 0; t < L; t++) poolWeights[b * L + t] = count > 0 ? input.mask[b * L + t]! / count : 0;
    }
    const pooled = tf.reshape(batchMatMul(tf.tensor3d(poolWeights, [B, 1, L]), tf.reshape(final, [B, L, c.dim])), [B, c.dim]) as tf.Tensor2D;
    return dense(drop(pooled), v("classifier.kernel") as tf.Tensor2D, v("classifier.bias") as tf.Tensor1D, "linear");
  }

  /** Class probabilities [batch][numLabels] without dropout. */
  predict(input: TokenBatch): Float32Array {
    return tf.tidy(() => tf.softmax(this.logits(input)).dataSync() as Float32Array);
  }

  weights(): TextTransformerWeights {
    const out: TextTransformerWeights = {};
    for (const [name, variable] of Object.entries(this.variables)) {
      out[name] = { shape: [...variable.shape], values: Float32Array.from(variable.dataSync() as Float32Array) };
    }
    return out;
  }

  dispose(): void {
    for (const variable of Object.values(this.variables)) variable.dispose();
  }
}

/** Pads encoded rows to the longest in the batch (id 0, mask 0). */
export function padBatch(rows: readonly (readonly number[])[]): TokenBatch {
  const length = Math.max(1, ...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * length);
  const mask = new Float32Array(rows.length * length);
  rows.forEach((row, b) => {
    ids.set(row, b * length);
    mask.fill(1, b * length, b * length + row.length);
  });
  return { ids, mask, batch: rows.length, length };
}
