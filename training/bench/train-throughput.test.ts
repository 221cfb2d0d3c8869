import { describe, expect, it } from "vitest";
import { hasTorch } from "./has-torch.js";
import { DEFAULT_BENCHMARK_OPTIONS, runTrainingBenchmark } from "./train-throughput.js";

const tiny = { ...DEFAULT_BENCHMARK_OPTIONS, users: 200, dim: 64, batchSize: 32, steps: 2, warmupSteps: 1, rounds: 1, torchThreads: [1], kernels: false, log: () => {} };

describe("runTrainingBenchmark", () => {
  it("reports tfjs alone, saying why, when the PyTorch reference cannot run", async () => {
    const result = await runTrainingBenchmark({ ...tiny, python: "python-that-does-not-exist" });
    expect(result.tfjs.single.samplesPerSecond).toBeGreaterThan(0);
    expect(result.tfjs.parallelTowers.samplesPerSecond).toBeGreaterThan(0);
    expect(result.tfjs.parallelTowers.rounds).toHaveLength(1);
    expect(result.tfjs.parallelTowers.stepProfileMs["step (main thread's view)"]).toBeGreaterThan(0);
    expect(result.torch).toEqual({ available: false, reason: "python-that-does-not-exist not found" });
    expect(result.ratio).toEqual({});
  });

  it.skipIf(!hasTorch())("runs the PyTorch reference on the same batches and reports the ratio", async () => {
    const result = await runTrainingBenchmark(tiny);
    expect(result.torch.available).toBe(true);
    const torch = result.torch.results!["threads=1"]!;
    expect(torch.samplesPerSecond).toBeGreaterThan(0);
    expect(result.ratio["tfjs single/torch threads=1"]).toBeCloseTo(result.tfjs.single.samplesPerSecond / torch.samplesPerSecond, 10);
    expect(result.ratio["tfjs parallelTowers/torch threads=1"]).toBeCloseTo(result.tfjs.parallelTowers.samplesPerSecond / torch.samplesPerSecond, 10);
  }, 120_000);
});
