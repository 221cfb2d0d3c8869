import { describe, expect, it } from "vitest";
import { ExactIndex } from "./exact-index.js";
import { describeVectorIndexContract } from "./test-support/vector-index-contract.js";

// The reference itself: recall 1.
describeVectorIndexContract("exact", async (version, dim) => new ExactIndex({ version, dim, initialCapacity: 4 }), 1);

describe("ExactIndex with cosine", () => {
  it("normalises vectors on the way in, so scores are cosines", async () => {
    const version = { model: "m", version: "1", entity: "items" };
    const index = new ExactIndex({ version, dim: 2, metric: "cosine" });
    await index.upsert({ version, ids: ["a", "b"], vectors: [Float32Array.of(3, 0), Float32Array.of(1, 1)] });
    const result = await index.search({ version, vectors: [Float32Array.of(10, 0)] }, 2);
    expect(result.hits[0]!.map((h) => h.id)).toEqual(["a", "b"]);
    expect(result.hits[0]![0]!.score).toBeCloseTo(1, 6);
    expect(result.hits[0]![1]!.score).toBeCloseTo(Math.SQRT1_2, 6);
    await expect(index.search({ version, vectors: [Float32Array.of(0, 0)] }, 1)).rejects.toThrow(/all zeros/);
  });
});
