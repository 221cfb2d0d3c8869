import { describe, expect, it } from "vitest";
import { learningRateAt } from "./learning-rate-schedule.js";

const at = (schedule: "constant" | "cosine" | "step", step: number, warmupSteps = 0) =>
  learningRateAt({ schedule, base: 0.01, step, totalSteps: 100, stepsPerEpoch: 10, warmupSteps, stepEpochs: 2 });

describe("learningRateAt", () => {
  it("cosine starts at the base rate, is halfway between base and base/10 mid-run, and ends at base/10", () => {
    expect(at("cosine", 0)).toBeCloseTo(0.01, 12);
    expect(at("cosine", 50)).toBeCloseTo((0.01 + 0.001) / 2, 12);
    expect(at("cosine", 100)).toBeCloseTo(0.001, 12);
  });

  it("step halves the rate every stepEpochs epochs", () => {
    expect([at("step", 0), at("step", 19), at("step", 20), at("step", 45)]).toEqual([0.01, 0.01, 0.005, 0.0025]);
  });

  it("warms up linearly before the schedule starts", () => {
    expect([at("constant", 0, 4), at("constant", 1, 4), at("constant", 3, 4), at("constant", 4, 4)]).toEqual([0.0025, 0.005, 0.01, 0.01]);
  });
});
