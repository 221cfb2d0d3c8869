import * as tf from "@tensorflow/tfjs";
import { embeddingBag } from "../src/model/embedding-bag.js";
import { matMul } from "../src/model/mat-mul.js";

export interface KernelTiming {
  kernel: string;
  /** Mean milliseconds per call (after one warm-up call), or null when the backend lacks the kernel. */
  ms: number | null;
  note?: string;
}

/**
 * Times the kernels the two-tower step depends on, on the current backend, comparing tf's own path with the
 * project's fast path. This is how the slow kernels were found; rerun it after changing backend or tfjs version.
 */
export function measureKernels(options: { rows?: number; width?: number; batch?: number; length?: number; reps?: number } = {}): KernelTiming[] {
  const rows = options.rows ?? 10_000;
  const width = options.width ?? 64;
  const batch = options.batch ?? 512;
  const length = options.length ?? 20;
  const reps = options.reps ?? 5;
  const out: KernelTiming[] = [];
  const time = (kernel: string, run: () => tf.Tensor | tf.Tensor[], note?: string): void => {
    try {
      const once = (): void => {
        tf.tidy(() => {
          const r = run();
          for (const t of Array.isArray(r) ? r : [r]) t.dataSync();
        });
      };
      once();
      const started = performance.now();
      for (let i = 0; i < reps; i++) once();
      out.push({ kernel, ms: (performance.now() - started) / reps, ...(note ? { note } : {}) });
    } catch (error) {
      out.push({ kernel, ms: null, note: (error as Error).message });
    }
  };
  const table = tf.randomNormal([rows, width], 0, 1, "float32", 1) as tf.Tensor2D;
  const indices = Int32Array.from({ length: batch * length }, (_, i) => (i * 7919) % rows);
  const indexTensor = tf.tensor1d(indices, "int32");
  time(`tf.gather forward ${batch}x${length} rows of ${rows}x${width}`, () => tf.gather(table, indexTensor));
  time(`tf.gather gradient (UnsortedSegmentSum) ${rows}-row table`, () => tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, indexTensor)))(table));
  time(`tf.unsortedSegmentSum ${batch * length}->${rows}`, () =>
    tf.unsortedSegmentSum(tf.ones([batch * length, width]), indexTensor, rows),
  );
  time(`embeddingBag masked-mean forward ${batch}x${length}`, () => embeddingBag(table, indices, batch, length, "masked-mean"));
  time(`embeddingBag masked-mean forward+gradient ${rows}-row table`, () =>
    tf.grad((t: tf.Tensor) => tf.sum(embeddingBag(t as tf.Tensor2D, indices, batch, length, "masked-mean")))(table),
  );
  const a = tf.randomNormal([batch, 128], 0, 1, "float32", 2) as tf.Tensor2D;
  const b = tf.randomNormal([batch, 128], 0, 1, "float32", 3) as tf.Tensor2D;
  time(`tf.matMul(a, b, false, true) ${batch}x128 · (${batch}x128)ᵀ`, () => tf.matMul(a, b, false, true));
  time(`tf.matMul(a, transpose(b)) ${batch}x128 · (${batch}x128)ᵀ`, () => tf.matMul(a, tf.transpose(b)));
  const x = tf.randomNormal([batch, 256], 0, 1, "float32", 4) as tf.Tensor2D;
  const w = tf.randomNormal([256, 256], 0, 1, "float32", 5) as tf.Tensor2D;
  time(`tf.matMul gradient ${batch}x256 · 256x256`, () => tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.matMul(p, q)))([x, w]));
  time(`fast matMul gradient ${batch}x256 · 256x256`, () =>
    tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(matMul(p as tf.Tensor2D, q as tf.Tensor2D)))([x, w]),
  );
  tf.dispose([table, indexTensor, a, b, x, w]);
  return out;
}
