import { describe, expect, it } from "vitest";
import { createSeededRandom } from "../data/seeded-random.js";
import { projectEmbeddings2d } from "./project-embeddings-2d.js";

// Three well-separated Gaussian clusters in 8-D.
function clusters(n: number): { embeddings: Float32Array; labels: number[] } {
  const rng = createSeededRandom(99);
  const dim = 8;
  const embeddings = new Float32Array(n * dim);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    labels.push(c);
    for (let d = 0; d < dim; d++) embeddings[i * dim + d] = (d === c ? 10 : 0) + rng.normal() * 0.3;
  }
  return { embeddings, labels };
}

describe("projectEmbeddings2d", () => {
  const { embeddings, labels } = clusters(150);
  const points = projectEmbeddings2d(embeddings, 8, { seed: 4 });

  it("keeps clusters apart: each point's nearest 2-D neighbour has its cluster", () => {
    expect(points).toHaveLength(150);
    let agree = 0;
    for (const p of points) {
      let best = -1;
      let bestDistance = Infinity;
      for (const q of points) {
        if (q === p) continue;
        const distance = (p.x - q.x) ** 2 + (p.y - q.y) ** 2;
        if (distance < bestDistance) [best, bestDistance] = [q.index, distance];
      }
      if (labels[best] === labels[p.index]) agree++;
    }
    expect(agree / points.length).toBeGreaterThan(0.95);
  });

  it("is deterministic for a seed", () => {
    expect(projectEmbeddings2d(embeddings, 8, { seed: 4 })).toEqual(points);
  });

  it("subsamples to maxPoints and reports the original row of each point", () => {
    const progress: number[] = [];
    const sample = projectEmbeddings2d(embeddings, 8, { seed: 4, maxPoints: 60, onProgress: (epoch) => progress.push(epoch) });
    expect(sample).toHaveLength(60);
    const rows = sample.map((p) => p.index);
    expect(new Set(rows).size).toBe(60);
    expect(rows.every((r) => r >= 0 && r < 150)).toBe(true);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it("rejects embeddings that are not whole rows", () => {
    expect(() => projectEmbeddings2d(new Float32Array(7), 2, { seed: 1 })).toThrow("7 values are not a whole number of rows of dim 2");
  });
});
