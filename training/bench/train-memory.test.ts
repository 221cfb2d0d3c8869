import { describe, expect, it } from "vitest";
import { runMemoryBenchmark } from "./train-memory.js";

describe("runMemoryBenchmark", () => {
  it("samples memory after every epoch, and training retains no tensors from one epoch to the next", async () => {
    // Parallel towers: the path that leaked (each epoch's setWeights kept one copy of every weight alive).
    const result = await runMemoryBenchmark({ users: 80, epochs: 3, seed: 2, parallelTowers: true, log: () => {} });
    expect(result.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    for (const e of result.epochs) expect(e.peakRssMb).toBeGreaterThanOrEqual(e.rssMb - 1);
    expect(new Set(result.epochs.map((e) => e.tensors)).size).toBe(1);
  }, 120_000);
});
