import type * as tf from "@tensorflow/tfjs";
import { assignValues } from "./two-tower-model.js";

/**
 * Adam (Kingma & Ba) with coupled L2 weight decay on selected weights, the same update torch.optim.Adam makes
 * with weight_decay, so the PyTorch benchmark reference trains the same way.
 *
 * The update runs in one JS loop per weight over Float32Arrays rather than as tf ops: on WASM each of the ~15 ops
 * per weight costs a kernel launch, and 13 weights made Adam ~200 launches per step; reading the weights and
 * gradients out and writing the weights back is cheaper. It also lets the learning rate change every step.
 */
export class AdamOptimizer {
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private t = 0;

  constructor(
    private readonly options: {
      beta1?: number;
      beta2?: number;
      epsilon?: number;
      weightDecay?: number;
      decays?: (name: string) => boolean;
      /**
       * AdamW (Loshchilov & Hutter): the decay shrinks the weights directly (p −= lr·decay·p) instead of entering
       * the gradient, so Adam's per-weight scaling does not weaken it where gradients are large; what
       * torch.optim.AdamW does, and what the history model is trained with.
       */
      decoupled?: boolean;
    } = {},
  ) {}

  /** Applies one update; `grads` is keyed like `variables`. */
  apply(variables: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>, learningRate: number): void {
    this.t += 1;
    for (const [name, variable] of Object.entries(variables)) {
      const gradient = grads[name];
      if (!gradient) continue;
      const p = Float32Array.from(variable.dataSync() as Float32Array);
      this.update(name, p, gradient.dataSync() as Float32Array, learningRate);
      assignValues(variable, p);
    }
  }

  /**
   * The same update on weights held as plain arrays, updated in place: the parallel-tower trainer keeps the
   * embedding tables in JS on the main thread.
   */
  applyArrays(params: Record<string, Float32Array>, grads: Record<string, Float32Array>, learningRate: number): void {
    this.t += 1;
    for (const [name, p] of Object.entries(params)) {
      const g = grads[name];
      if (g) this.update(name, p, g, learningRate);
    }
  }

  private update(name: string, p: Float32Array, g: Float32Array, learningRate: number): void {
    const beta1 = this.options.beta1 ?? 0.9;
    const beta2 = this.options.beta2 ?? 0.999;
    const epsilon = this.options.epsilon ?? 1e-8;
    const correction1 = 1 - beta1 ** this.t;
    const correction2 = 1 - beta2 ** this.t;
    const decay = this.options.weightDecay && (this.options.decays?.(name) ?? true) ? this.options.weightDecay : 0;
    let m = this.m.get(name);
    let v = this.v.get(name);
    if (!m || !v) {
      m = new Float32Array(p.length);
      v = new Float32Array(p.length);
      this.m.set(name, m);
      this.v.set(name, v);
    }
    const coupled = this.options.decoupled ? 0 : decay;
    const shrink = this.options.decoupled ? 1 - learningRate * decay : 1;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]! + coupled * p[i]!;
      const mi = beta1 * m[i]! + (1 - beta1) * gi;
      const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = shrink * p[i]! - (learningRate * (mi / correction1)) / (Math.sqrt(vi / correction2) + epsilon);
    }
  }

  dispose(): void {
    this.m.clear();
    this.v.clear();
  }
}
