import { UMAP } from "umap-js";
import { createSeededRandom } from "../data/seeded-random.js";

/**
 * 2-D UMAP of embedding rows for the report's user maps. Large sets are subsampled (seeded) to `maxPoints`
 * (default 2,000) because UMAP's neighbour graph grows faster than linearly and the plot cannot show more
 * anyway; `index` is the row in the input. Deterministic for a seed.
 */
export function projectEmbeddings2d(
  embeddings: Float32Array,
  dim: number,
  options: { seed: number; maxPoints?: number; onProgress?: (epoch: number, epochs: number) => void },
): { x: number; y: number; index: number }[] {
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`projectEmbeddings2d: dim must be an integer >= 1, got ${dim}`);
  if (embeddings.length % dim !== 0) {
    throw new RangeError(`projectEmbeddings2d: ${embeddings.length} values are not a whole number of rows of dim ${dim}`);
  }
  const rows = embeddings.length / dim;
  const maxPoints = options.maxPoints ?? 2000;
  const rng = createSeededRandom(options.seed);
  let indices = Array.from({ length: rows }, (_, i) => i);
  if (rows > maxPoints) indices = rng.shuffle(indices).slice(0, maxPoints).sort((a, b) => a - b);
  const data = indices.map((i) => Array.from(embeddings.subarray(i * dim, (i + 1) * dim)));
  // UMAP needs a neighbourhood; with a handful of points a line layout is the honest picture.
  if (data.length < 4) return indices.map((index, i) => ({ x: i, y: 0, index }));

  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.min(15, data.length - 1),
    minDist: 0.1,
    random: () => rng.next(),
  });
  const epochs = umap.initializeFit(data);
  for (let epoch = 0; epoch < epochs; epoch++) {
    umap.step();
    if (options.onProgress && (epoch % 10 === 9 || epoch === epochs - 1)) options.onProgress(epoch + 1, epochs);
  }
  return umap.getEmbedding().map(([x, y], i) => ({ x: x!, y: y!, index: indices[i]! }));
}
