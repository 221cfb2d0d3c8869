import * as tf from "@tensorflow/tfjs";
import { AdamOptimizer } from "./adam-optimizer.js";
import { softmaxLossGradient } from "./in-batch-softmax-loss.js";
import { L2_EPSILON_SQUARED } from "./two-tower-model.js";

export type TowerSide = "user" | "item";

/** The four weights of one tower's MLP, keyed by their TwoTowerWeights names ("user.dense0.kernel", ...). */
export type TowerMlpWeights = Record<string, { shape: number[]; values: Float32Array }>;

export interface TowerMlpOptions {
  weightDecay: number;
}

/** Rows of one forward call that share a dropout seed (the batch's items, then the extra negatives). */
export interface DropoutSegment {
  rows: number;
  seed: number;
}

export const MLP_WEIGHT_NAMES = ["dense0.kernel", "dense0.bias", "dense1.kernel", "dense1.bias"] as const;

/**
 * One tower's MLP (dense → ReLU → dropout → dense → L2 norm) with its forward and backward pass written out
 * and its own Adam state, so it can train in a worker thread of its own: the parallel-tower trainer runs the
 * user and the item MLP side by side, the embeddings and the loss staying on the main thread.
 *
 * The ops (and their order) are those of TwoTowerModel's dense/l2Normalize custom gradients and tf.dropout, so
 * a step gives the same weights as the single-thread path up to float rounding.
 */
export class TowerMlp {
  private readonly variables: Record<string, tf.Variable>;
  private readonly optimizer: AdamOptimizer;
  /** Activations the backward pass needs, kept from the last forward call. */
  /** The other tower's embeddings for this step, given to scoreRows, used again by backward. */
  private other: tf.Tensor2D | undefined;
  /** Gradients of the last backward pass and their learning rate, applied by applyPendingUpdate. */
  private pending: { grads: Record<string, tf.Tensor>; learningRate: number } | undefined;
  private saved: { x: tf.Tensor2D; relu: tf.Tensor2D; hidden: tf.Tensor2D; y: tf.Tensor2D; norm: tf.Tensor2D; multiplier?: tf.Tensor2D } | undefined;

  constructor(
    readonly side: TowerSide,
    weights: TowerMlpWeights,
    options: TowerMlpOptions,
  ) {
    this.variables = {};
    for (const short of MLP_WEIGHT_NAMES) {
      const name = `${side}.${short}`;
      const w = weights[name];
      if (!w) throw new Error(`TowerMlp: weights are missing "${name}"`);
      this.variables[name] = tf.variable(tf.tensor(w.values, w.shape), true);
    }
    this.optimizer = new AdamOptimizer({ weightDecay: options.weightDecay, decays: (name) => name.endsWith(".kernel") });
  }

  private v(short: (typeof MLP_WEIGHT_NAMES)[number]): tf.Variable {
    return this.variables[`${this.side}.${short}`]!;
  }

  /** [rows, inputWidth] features → L2-normalised [rows, dim] embeddings; keeps what backward needs. */
  forward(x: Float32Array, rows: number, dropout: number, segments: DropoutSegment[]): Float32Array {
    this.applyPendingUpdate();
    this.release();
    const inputWidth = this.v("dense0.kernel").shape[0]!;
    if (x.length !== rows * inputWidth) throw new RangeError(`TowerMlp.forward: ${x.length} values for ${rows} rows of width ${inputWidth}`);
    const saved = tf.tidy(() => {
      const input = tf.tensor2d(x, [rows, inputWidth]);
      const relu = tf.fused.matMul({ a: input, b: this.v("dense0.kernel") as tf.Tensor2D, bias: this.v("dense0.bias"), activation: "relu" }) as tf.Tensor2D;
      let hidden = relu;
      let multiplier: tf.Tensor2D | undefined;
      if (dropout > 0) {
        // tf.dropout's mask depends only on shape and seed: building it per segment reproduces the single-thread
        // path, which calls tf.dropout once per segment.
        const hiddenWidth = relu.shape[1]!;
        const parts = segments.map((s) => tf.dropout(tf.ones([s.rows, hiddenWidth]), dropout, undefined, s.seed) as tf.Tensor2D);
        multiplier = parts.length === 1 ? parts[0]! : (tf.concat(parts, 0) as tf.Tensor2D);
        hidden = tf.mul(relu, multiplier) as tf.Tensor2D;
      }
      const out = tf.fused.matMul({ a: hidden, b: this.v("dense1.kernel") as tf.Tensor2D, bias: this.v("dense1.bias"), activation: "linear" });
      const norm = tf.sqrt(tf.maximum(tf.sum(tf.square(out), 1, true), L2_EPSILON_SQUARED)) as tf.Tensor2D;
      const y = tf.div(out, norm) as tf.Tensor2D;
      return { x: input, relu, hidden, out, y, norm, ...(multiplier ? { multiplier } : {}) };
    });
    saved.out.dispose();
    const { out: _out, ...kept } = saved;
    this.saved = kept as NonNullable<TowerMlp["saved"]>;
    return saved.y.dataSync() as Float32Array;
  }

  /**
   * Scores S = U·Vᵀ for batch rows [start, start + count) and the loss's share and gradient for those rows.
   * `other` is the other tower's [otherRows, dim] embeddings (V for the user tower, U for the item tower); it is
   * kept for backward.
   */
  scoreRows(
    other: Float32Array,
    otherRows: number,
    rows: { start: number; count: number },
    loss: { temperature: number; columnLogQ?: Float32Array; columnIds?: Int32Array },
  ): { loss: number; grad: Float32Array } {
    const saved = this.saved;
    if (!saved) throw new Error("TowerMlp.scoreRows: call forward first");
    const dim = saved.y.shape[1];
    this.other?.dispose();
    this.other = tf.tensor2d(other, [otherRows, dim]);
    const [users, items] = this.side === "user" ? [saved.y, this.other] : [this.other, saved.y];
    const columns = items.shape[0];
    // Read outside tf.tidy: tidy walks a returned typed array element by element looking for tensors.
    const scores = tf.tidy(() => tf.matMul(tf.slice(users, [rows.start, 0], [rows.count, dim]), tf.transpose(items)));
    const values = scores.dataSync() as Float32Array;
    scores.dispose();
    return softmaxLossGradient(values, users.shape[0], columns, { ...loss, rows });
  }

  /**
   * Backward pass from the score gradient `scoreGrad` = dL/dS ([users, columns] row-major): the user tower's
   * dL/dU = G·V, the item tower's dL/dV = Gᵀ·U, with the other tower's embeddings from scoreRows (or `other`).
   * Returns dL/dx (the embedding part of which the main thread scatters into the tables) and the squared norm of
   * this tower's weight gradients. The Adam step on them waits for applyPendingUpdate (or the next forward), so a
   * worker can reply first and update while the main thread works on the embeddings.
   */
  backward(scoreGrad: Float32Array, users: number, columns: number, learningRate: number, other?: Float32Array): { dx: Float32Array; gradSquared: number } {
    const saved = this.saved;
    if (!saved) throw new Error("TowerMlp.backward: call forward first");
    const dim = saved.y.shape[1];
    if (other) {
      this.other?.dispose();
      this.other = tf.tensor2d(other, [this.side === "user" ? columns : users, dim]);
    }
    const otherTensor = this.other;
    if (!otherTensor) throw new Error("TowerMlp.backward: no embeddings of the other tower (call scoreRows or pass them)");
    const { dx, grads, squared } = tf.tidy(() => {
      const g = tf.tensor2d(scoreGrad, [users, columns]);
      const dy = this.side === "user" ? tf.matMul(g, otherTensor) : tf.matMul(tf.transpose(g), otherTensor);
      const dOut = tf.div(tf.sub(dy, tf.mul(saved.y, tf.sum(tf.mul(dy, saved.y), 1, true))), saved.norm) as tf.Tensor2D;
      const ones = tf.ones([1, dOut.shape[0]]) as tf.Tensor2D;
      const dKernel1 = tf.matMul(tf.transpose(saved.hidden), dOut);
      const dBias1 = tf.reshape(tf.matMul(ones, dOut), [dOut.shape[1]]);
      let dHidden = tf.matMul(dOut, tf.transpose(this.v("dense1.kernel") as tf.Tensor2D));
      if (saved.multiplier) dHidden = tf.mul(dHidden, saved.multiplier);
      const dz = tf.mul(dHidden, tf.step(saved.relu)) as tf.Tensor2D;
      const dKernel0 = tf.matMul(tf.transpose(saved.x), dz);
      const dBias0 = tf.reshape(tf.matMul(ones, dz), [dz.shape[1]]);
      const dx = tf.matMul(dz, tf.transpose(this.v("dense0.kernel") as tf.Tensor2D));
      const grads: Record<string, tf.Tensor> = {
        [`${this.side}.dense0.kernel`]: dKernel0,
        [`${this.side}.dense0.bias`]: dBias0,
        [`${this.side}.dense1.kernel`]: dKernel1,
        [`${this.side}.dense1.bias`]: dBias1,
      };
      const squared = tf.addN(Object.values(grads).map((t) => tf.sum(tf.square(t))));
      return { dx, grads, squared };
    });
    const gradSquared = squared.dataSync()[0]!;
    const dxValues = dx.dataSync() as Float32Array;
    tf.dispose([dx, squared]);
    this.pending = { grads, learningRate };
    this.release();
    return { dx: dxValues, gradSquared };
  }

  /** The Adam step on the last backward pass's gradients (a no-op when there is none). */
  applyPendingUpdate(): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    this.optimizer.apply(this.variables, pending.grads, pending.learningRate);
    tf.dispose(Object.values(pending.grads));
  }

  getWeights(): TowerMlpWeights {
    this.applyPendingUpdate();
    const out: TowerMlpWeights = {};
    for (const [name, variable] of Object.entries(this.variables)) {
      out[name] = { shape: [...variable.shape], values: new Float32Array(variable.dataSync() as Float32Array) };
    }
    return out;
  }

  private release(): void {
    if (!this.saved) return;
    // relu and hidden are one tensor without dropout.
    tf.dispose([...new Set(Object.values(this.saved))]);
    this.saved = undefined;
  }

  dispose(): void {
    this.applyPendingUpdate();
    this.release();
    this.other?.dispose();
    this.optimizer.dispose();
    tf.dispose(Object.values(this.variables));
  }
}
