import * as tf from "@tensorflow/tfjs";
import { AdamOptimizer } from "./adam-optimizer.js";
import { softmaxLossGradient } from "./in-batch-softmax-loss.js";
import { assignValues, L2_EPSILON_SQUARED } from "./two-tower-model.js";

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
  /** This tower's part of dL/d(its embeddings) from scoreRows, completed in backward. */
  private ownPart: tf.Tensor2D | undefined;
  /** Gradients of the last backward pass and their learning rate, applied by applyPendingUpdate. */
  private pending: { grads: Record<string, Float32Array>; learningRate: number } | undefined;
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
   * The loss on batch rows [start, start + count) and what they contribute to dL/dU and dL/dV.
   *
   * `other` is the other tower's [otherRows, dim] embeddings (V for the user tower, U for the item tower). With
   * S the rows' scores U_r·Vᵀ and G = dL/dS (softmax − I, over T·batch, 0 where masked), the rows give dL/dU_r =
   * G·V in full and the part Gᵀ·U_r of dL/dV. The tower keeps the part of its own gradient and returns the
   * other tower's part, which the trainer hands over in backward. The loss pass is sampledSoftmaxLoss's JS one
   * (faster than tfjs's exp/logSoftmax kernels on WASM, and float64).
   */
  scoreRows(
    other: Float32Array,
    otherRows: number,
    rows: { start: number; count: number },
    loss: { temperature: number; columnLogQ: Float32Array; columnIds?: Int32Array },
  ): { loss: number; forOther: Float32Array } {
    const saved = this.saved;
    if (!saved) throw new Error("TowerMlp.scoreRows: call forward first");
    const dim = saved.y.shape[1];
    const otherTensor = tf.tensor2d(other, [otherRows, dim]);
    const [users, items] = this.side === "user" ? [saved.y, otherTensor] : [otherTensor, saved.y];
    const batch = users.shape[0];
    const columns = items.shape[0];
    const { start, count } = rows;
    const u = tf.slice(users, [start, 0], [count, dim]);
    // Read outside tf.tidy: tidy walks a returned typed array element by element looking for tensors.
    const scores = tf.tidy(() => tf.matMul(u, tf.transpose(items)));
    const { loss: lossShare, grad } = softmaxLossGradient(scores.dataSync() as Float32Array, batch, columns, { ...loss, rows });
    scores.dispose();
    const { own, forOther } = tf.tidy(() => {
      const g = tf.tensor2d(grad, [count, columns]);
      const dUsers = tf.matMul(g, items);
      const dItems = tf.matMul(tf.transpose(g), u);
      return this.side === "user" ? { own: dUsers, forOther: dItems } : { own: dItems, forOther: dUsers };
    });
    u.dispose();
    otherTensor.dispose();
    this.ownPart?.dispose();
    this.ownPart = own as tf.Tensor2D;
    const values = forOther.dataSync() as Float32Array;
    forOther.dispose();
    return { loss: lossShare, forOther: values };
  }

  /**
   * Backward pass from dL/d(embeddings): this tower's part from scoreRows plus `fromOther`, the other tower's
   * rows' part (the user tower's are the later rows of dL/dU, the item tower's a second addend of dL/dV).
   * Returns dL/dx (the embedding part of which the main thread scatters into the tables) and the squared norm of
   * this tower's weight gradients. The Adam step on them waits for applyPendingUpdate (or the next forward), so a
   * worker can reply first and update while the main thread works on the embeddings.
   */
  backward(fromOther: Float32Array, learningRate: number): { dx: Float32Array; gradSquared: number } {
    const saved = this.saved;
    const own = this.ownPart;
    if (!saved || !own) throw new Error("TowerMlp.backward: call forward and scoreRows first");
    const dim = saved.y.shape[1];
    const { dx, grads } = tf.tidy(() => {
      const rest = tf.tensor2d(fromOther, [fromOther.length / dim, dim]);
      const dy = this.side === "user" ? tf.concat([own, rest], 0) : tf.add(rest, own);
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
      return { dx, grads };
    });
    const dxValues = dx.dataSync() as Float32Array;
    // Read out once: Adam runs in JS anyway, and the squared norm is a JS sum instead of nine small kernels.
    const values: Record<string, Float32Array> = {};
    let gradSquared = 0;
    for (const [name, g] of Object.entries(grads)) {
      const v = g.dataSync() as Float32Array;
      for (let i = 0; i < v.length; i++) gradSquared += v[i]! * v[i]!;
      values[name] = v;
    }
    tf.dispose([dx, ...Object.values(grads)]);
    this.pending = { grads: values, learningRate };
    this.release();
    return { dx: dxValues, gradSquared };
  }

  /** The Adam step on the last backward pass's gradients (a no-op when there is none). */
  applyPendingUpdate(): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    const params: Record<string, Float32Array> = {};
    for (const [name, variable] of Object.entries(this.variables)) params[name] = Float32Array.from(variable.dataSync() as Float32Array);
    this.optimizer.applyArrays(params, pending.grads, pending.learningRate);
    for (const [name, variable] of Object.entries(this.variables)) assignValues(variable, params[name]!);
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
    this.ownPart?.dispose();
    this.ownPart = undefined;
  }

  dispose(): void {
    this.applyPendingUpdate();
    this.release();
    this.optimizer.dispose();
    tf.dispose(Object.values(this.variables));
  }
}

