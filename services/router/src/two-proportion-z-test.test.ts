import { describe, expect, it } from "vitest";
import { standardNormalCdf, twoProportionZTest } from "./two-proportion-z-test.js";

describe("twoProportionZTest", () => {
  it("matches a textbook example: 200/1000 vs 250/1000 gives z ≈ 2.68, p ≈ 0.0074", () => {
    const test = twoProportionZTest(200, 1_000, 250, 1_000);
    expect(test.z).toBeCloseTo(2.68, 2);
    expect(test.pValue).toBeCloseTo(0.0074, 3);
  });

  it("is symmetric and gives p = 1 for equal rates or empty sides", () => {
    expect(twoProportionZTest(250, 1_000, 200, 1_000).z).toBeCloseTo(-2.68, 2);
    const equal = twoProportionZTest(50, 500, 100, 1_000);
    expect(equal.z).toBe(0);
    expect(equal.pValue).toBeCloseTo(1, 6);
    expect(twoProportionZTest(0, 0, 5, 10)).toEqual({ z: 0, pValue: 1 });
    expect(twoProportionZTest(0, 10, 0, 10)).toEqual({ z: 0, pValue: 1 });
  });

  it("Φ is accurate to 1e-6 at known points", () => {
    expect(standardNormalCdf(0)).toBeCloseTo(0.5, 6);
    expect(standardNormalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(standardNormalCdf(-1.644854)).toBeCloseTo(0.05, 6);
  });
});
