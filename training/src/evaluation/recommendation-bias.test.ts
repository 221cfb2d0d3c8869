import { describe, expect, it } from "vitest";
import { recommendationBias } from "./recommendation-bias.js";

describe("recommendationBias", () => {
  // 100 users: 60 mobile, 30 desktop, 10 tablet. Mobile users find 2 items each, desktop 1, tablet 0:
  // mobile holds 60 % of users but 120 / 150 = 80 % of hits.
  const device = (user: number): string => (user < 60 ? "mobile" : user < 90 ? "desktop" : "tablet");
  const skewed = new Map(Array.from({ length: 100 }, (_, user) => [user, user < 60 ? 2 : user < 90 ? 1 : 0]));

  it("gives each group its share of users, share of hits and their ratio", () => {
    const bias = recommendationBias(skewed, { device }, { maxRatio: 1.5, minUsers: 5 });
    expect(bias.users).toBe(100);
    expect(bias.hits).toBe(150);
    const groups = Object.fromEntries(bias.dimensions[0]!.groups.map((g) => [g.group, g]));
    expect(groups.mobile).toMatchObject({ users: 60, userShare: 0.6, hits: 120, hitShare: 0.8 });
    expect(groups.mobile!.ratio).toBeCloseTo(0.8 / 0.6, 10);
    expect(groups.desktop!.ratio).toBeCloseTo(0.2 / 0.3, 10);
    expect(groups.tablet!.ratio).toBe(0);
  });

  it("flags groups past the ratio either way, and not groups within it", () => {
    // mobile 1.33× and desktop 0.67× are within 1.6× (and 1 / 1.6 = 0.625); tablet 0× is not.
    const bias = recommendationBias(skewed, { device }, { maxRatio: 1.6, minUsers: 5 });
    expect(bias.flagged).toEqual(["device=tablet 0.00×"]);
    const strict = recommendationBias(skewed, { device }, { maxRatio: 1.25, minUsers: 5 });
    expect(strict.flagged).toEqual(["device=desktop 0.67×", "device=mobile 1.33×", "device=tablet 0.00×"]);
  });

  it("shows but never flags a group smaller than minUsers", () => {
    const bias = recommendationBias(skewed, { device }, { maxRatio: 1.5, minUsers: 20 });
    expect(bias.dimensions[0]!.groups.find((g) => g.group === "tablet")!.flagged).toBe(false);
    expect(bias.flagged).toEqual([]);
  });

  it("an even spread flags nothing; users a dimension does not know count as unknown", () => {
    const even = new Map(Array.from({ length: 40 }, (_, user) => [user, 1]));
    const bias = recommendationBias(even, { segment: (user) => (user < 30 ? "a" : undefined) }, { maxRatio: 1.5, minUsers: 5 });
    expect(bias.dimensions[0]!.groups.map((g) => [g.group, g.ratio])).toEqual([["a", 1], ["unknown", 1]]);
    expect(bias.flagged).toEqual([]);
  });
});
