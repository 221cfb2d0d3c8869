import { describe, expect, it } from "vitest";
import { exactTopK, topKOfScores } from "./exact-top-k.js";
import { randomUnitVectors, seededRandom } from "./test-support/random-vectors.js";

/** The obvious answer: score everything in double precision, sort by score then row. */
function naiveTopK(query: Float32Array, matrix: Float32Array, dim: number, k: number, skip: (row: number) => boolean = () => false) {
  const scored: { row: number; score: number }[] = [];
  for (let row = 0; row < matrix.length / dim; row++) {
    if (skip(row)) continue;
    let s = 0;
    for (let d = 0; d < dim; d++) s += query[d]! * matrix[row * dim + d]!;
    scored.push({ row, score: s });
  }
  scored.sort((a, b) => b.score - a.score || a.row - b.row);
  return scored.slice(0, k);
}

describe("exactTopK", () => {
  it("equals a full sort, bit for bit, for every query count (grouped by four and the remainder)", () => {
    const dim = 24;
    const matrix = randomUnitVectors(5000, dim, 1, 20);
    for (const queryCount of [1, 3, 4, 7]) {
      const queries = randomUnitVectors(queryCount, dim, 2 + queryCount);
      const tops = exactTopK(queries, matrix, 15, { dim });
      expect(tops).toHaveLength(queryCount);
      tops.forEach((top, q) => {
        const expected = naiveTopK(queries.subarray(q * dim, (q + 1) * dim), matrix, dim, 15);
        expect(Array.from(top.rows)).toEqual(expected.map((e) => e.row));
        expect(Array.from(top.scores)).toEqual(expected.map((e) => e.score));
      });
    }
  });

  it("breaks ties towards the lower row, as training's evaluation always did", () => {
    // Rows 0..9 alternate between two vectors: many exact ties.
    const dim = 2;
    const matrix = Float32Array.from({ length: 20 }, (_, i) => (Math.floor(i / 2) % 2 === 0 ? (i % 2 === 0 ? 1 : 0) : i % 2 === 0 ? 0 : 1));
    const top = exactTopK(Float32Array.of(1, 0), matrix, 4, { dim });
    expect(Array.from(top[0]!.rows)).toEqual([0, 2, 4, 6]);
    expect(Array.from(top[0]!.scores)).toEqual([1, 1, 1, 1]);
  });

  it("skips rows per query (seen items, the query's own row), honours rowCount and minScore", () => {
    const dim = 8;
    const matrix = randomUnitVectors(300, dim, 9);
    const queries = matrix.slice(0, 2 * dim); // rows 0 and 1 query themselves
    const seen = [new Set([0, 5, 6]), new Set([1])];
    const tops = exactTopK(queries, matrix, 10, { dim, skip: (q, row) => seen[q]!.has(row) });
    tops.forEach((top, q) => {
      const expected = naiveTopK(queries.subarray(q * dim, (q + 1) * dim), matrix, dim, 10, (row) => seen[q]!.has(row));
      expect(Array.from(top.rows)).toEqual(expected.map((e) => e.row));
    });
    const firstHundred = exactTopK(queries, matrix, 500, { dim, rowCount: 100 });
    expect(firstHundred[0]!.rows.length).toBe(100);
    expect(Math.max(...firstHundred[0]!.rows)).toBe(99);
    const cut = exactTopK(queries, matrix, 50, { dim, minScore: 0.5 });
    expect(cut[0]!.rows.length).toBeLessThan(50);
    for (const s of cut[0]!.scores) expect(s).toBeGreaterThanOrEqual(0.5);
    expect(cut[0]!.rows[0]).toBe(0);
  });

  it("rejects bad shapes and k", () => {
    expect(() => exactTopK(new Float32Array(3), new Float32Array(4), 1, { dim: 2 })).toThrow(/multiples of dim 2/);
    expect(() => exactTopK(new Float32Array(2), new Float32Array(4), 0, { dim: 2 })).toThrow(/k must be/);
    expect(() => exactTopK(new Float32Array(2), new Float32Array(4), 1, { dim: 2, rowCount: 3 })).toThrow(/rowCount/);
  });
});

describe("topKOfScores", () => {
  it("ranks precomputed scores (the popularity baseline) with the same tie rule and skips", () => {
    const random = seededRandom(4);
    const scores = Float64Array.from({ length: 1000 }, () => Math.floor(random() * 50));
    const top = topKOfScores(scores, 20, (row) => row % 10 === 0);
    const expected = Array.from(scores, (score, row) => ({ score, row }))
      .filter((e) => e.row % 10 !== 0)
      .sort((a, b) => b.score - a.score || a.row - b.row)
      .slice(0, 20);
    expect(Array.from(top.rows)).toEqual(expected.map((e) => e.row));
    expect(Array.from(top.scores)).toEqual(expected.map((e) => e.score));
  });
});
