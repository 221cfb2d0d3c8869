import { describe, expect, it } from "vitest";
import { similarUserAccuracy } from "./similar-user-accuracy.js";

// u0 (1,0) A, u1 (.8,.6) A, u2 (.6,.8) B, u3 (0,1) B.
// Dot products: u0·u1 .8, u0·u2 .6, u0·u3 0, u1·u2 .96, u1·u3 .6, u2·u3 .8.
const userEmbeddings = new Float32Array([1, 0, 0.8, 0.6, 0.6, 0.8, 0, 1]);
const labels = ["A", "A", "B", "B"];

describe("similarUserAccuracy", () => {
  it("k = 1: nearest neighbours u1, u2, u1, u2 → matches for u0 and u3 only → 0.5", () => {
    expect(similarUserAccuracy({ userEmbeddings, dim: 2, labels, k: 1 })).toBeCloseTo(0.5, 10);
  });

  it("k = 3: every user has all others as neighbours, one of three shares its label → 1/3", () => {
    expect(similarUserAccuracy({ userEmbeddings, dim: 2, labels, k: 3 })).toBeCloseTo(1 / 3, 10);
  });

  it("is 1 when each label forms a tight cluster", () => {
    const clustered = new Float32Array([1, 0, 0.99, 0.141, 0, 1, 0.141, 0.99]);
    expect(similarUserAccuracy({ userEmbeddings: clustered, dim: 2, labels: ["A", "A", "B", "B"], k: 1 })).toBe(1);
  });

  it("samples query users when asked, reproducibly", () => {
    const a = similarUserAccuracy({ userEmbeddings, dim: 2, labels, k: 1, maxQueries: 2, seed: 3 });
    expect(similarUserAccuracy({ userEmbeddings, dim: 2, labels, k: 1, maxQueries: 2, seed: 3 })).toBe(a);
    expect([0, 0.5, 1]).toContain(a);
  });

  it("rejects k beyond the number of other users and label count mismatches", () => {
    expect(() => similarUserAccuracy({ userEmbeddings, dim: 2, labels, k: 4 })).toThrow("k must be an integer in 1..3");
    expect(() => similarUserAccuracy({ userEmbeddings, dim: 2, labels: ["A"], k: 1 })).toThrow("4 embedding rows but 1 labels");
  });
});
