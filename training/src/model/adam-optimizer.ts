import * as tf from "@tensorflow/tfjs";

/**
 * Adam (Kingma & Ba) with coupled L2 weight decay on selected weights, the same update torch.optim.Adam makes
 * with weight_decay, so the PyTorch benchmark reference trains the same way. Written out rather than using
 * tf.train.adam because the learning rate changes every step (schedule) and decay applies only to kernels.
 */
export class AdamOptimizer {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;

  constructor(
    private readonly options: { beta1?: number; beta2?: number; epsilon?: number; weightDecay?: number; decays?: (name: string) => boolean } = {},
  ) {}

  /** Applies one update; `grads` is keyed like `variables`. */
  apply(variables: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>, learningRate: number): void {
    const beta1 = this.options.beta1 ?? 0.9;
    const beta2 = this.options.beta2 ?? 0.999;
    const epsilon = this.options.epsilon ?? 1e-8;
    const weightDecay = this.options.weightDecay ?? 0;
    this.t += 1;
    const correction1 = 1 - beta1 ** this.t;
    const correction2 = 1 - beta2 ** this.t;
    tf.tidy(() => {
      for (const [name, variable] of Object.entries(variables)) {
        let g = grads[name];
        if (!g) continue;
        if (weightDecay > 0 && (this.options.decays?.(name) ?? true)) g = tf.add(g, tf.mul(variable, weightDecay));
        let m = this.m.get(name);
        let v = this.v.get(name);
        if (!m || !v) {
          m = tf.variable(tf.zerosLike(variable), false);
          v = tf.variable(tf.zerosLike(variable), false);
          this.m.set(name, m);
          this.v.set(name, v);
        }
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const step = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), epsilon));
        variable.assign(tf.sub(variable, tf.mul(step, learningRate)));
      }
    });
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
    this.m.clear();
    this.v.clear();
  }
}
