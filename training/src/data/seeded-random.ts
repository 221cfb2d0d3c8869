/**
 * Seeded PRNG (mulberry32). Everything that must be reproducible for a seed (generator, splits, embedding
 * projections) draws from this instead of Math.random.
 */
export interface SeededRandom {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** Picks an index with probability proportional to weights[i]. */
  weighted(weights: ArrayLike<number>, total?: number): number;
  pick<T>(values: readonly T[]): T;
  /** Fisher–Yates in place (arrays and typed arrays alike); returns `values`. */
  shuffle<A extends { length: number; [index: number]: unknown }>(values: A): A;
}

export function createSeededRandom(seed: number): SeededRandom {
  if (!Number.isFinite(seed)) throw new TypeError(`seed must be a finite number, got ${String(seed)}`);
  let state = Math.trunc(seed) >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {
    next,
    int,
    normal() {
      // 1 - next() keeps the argument of log away from 0.
      const u = 1 - next();
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    weighted(weights, total) {
      let sum = total ?? 0;
      if (total === undefined) for (let i = 0; i < weights.length; i++) sum += weights[i]!;
      let r = next() * sum;
      for (let i = 0; i < weights.length; i++) {
        r -= weights[i]!;
        if (r < 0) return i;
      }
      return weights.length - 1;
    },
    pick(values) {
      if (values.length === 0) throw new RangeError("cannot pick from an empty list");
      return values[int(values.length)]!;
    },
    shuffle(values) {
      for (let i = values.length - 1; i > 0; i--) {
        const j = int(i + 1);
        const tmp = values[i]!;
        values[i] = values[j]!;
        values[j] = tmp;
      }
      return values;
    },
  };
}
