import { describe, expect, it } from "vitest";
import { coverageWarnings, gridEdgeNotes } from "./run-training.js";

describe("protocol warnings", () => {
  it("warns below the scored-user floor, pointing to leave-last only when it is not the split", () => {
    expect(coverageWarnings(300, 300, "time")).toEqual([]);
    expect(coverageWarnings(91, 300, "time")[0]).toMatch(/only 91 test users .*--split leave-last/);
    expect(coverageWarnings(91, 300, "leave-last")[0]).not.toMatch(/--split leave-last/);
  });

  it("says when a tuned value sits at the end of its grid, and not for a floor of 0 or an untuned run", () => {
    const grid = { easeLambda: [50, 500, 2000], knnShrink: [0, 10, 50], knnNeighbours: [0, 50] };
    const params = (easeLambda: number, knnShrink: number) => ({ easeLambda, knnShrink, knnNeighbours: 0 });
    expect(gridEdgeNotes({ tuned: true, params: params(2000, 10) }, grid)).toEqual([expect.stringMatching(/EASE λ 2000 is the largest .*--ease-lambda/)]);
    expect(gridEdgeNotes({ tuned: true, params: params(50, 50) }, grid)).toEqual([
      expect.stringMatching(/EASE λ 50 is the smallest/),
      expect.stringMatching(/item-kNN shrink 50 is the largest .*--knn-shrink/),
    ]);
    expect(gridEdgeNotes({ tuned: true, params: params(500, 0) }, grid)).toEqual([]);
    expect(gridEdgeNotes({ tuned: false, params: params(2000, 50) }, grid)).toEqual([]);
  });
});
