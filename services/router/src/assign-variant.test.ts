import { describe, expect, it } from "vitest";
import { assignVariant, type Split } from "./assign-variant.js";

const users = Array.from({ length: 10_000 }, (_, i) => `user-${String(i + 1).padStart(6, "0")}`);
const split: Split = { salt: "two-tower-2026-12", variants: [{ name: "control", weight: 90 }, { name: "treatment", weight: 10 }] };

function shares(assign: (user: string) => string | undefined): Map<string | undefined, number> {
  const counts = new Map<string | undefined, number>();
  for (const user of users) counts.set(assign(user), (counts.get(assign(user)) ?? 0) + 1);
  return new Map([...counts].map(([k, v]) => [k, v / users.length]));
}

describe("assignVariant", () => {
  it("splits 10,000 users by weight within 1.5 points (3 sigma of a 90/10 binomial is 0.9 points)", () => {
    const got = shares((u) => assignVariant(u, split));
    expect(got.get("control")).toBeCloseTo(0.9, 1);
    expect(Math.abs(got.get("treatment")! - 0.1)).toBeLessThan(0.015);
    expect([...got.keys()].sort()).toEqual(["control", "treatment"]);
  });

  it("splits three ways by weight", () => {
    const got = shares((u) => assignVariant(u, { salt: "s", variants: [{ name: "a", weight: 1 }, { name: "b", weight: 1 }, { name: "c", weight: 2 }] }));
    expect(Math.abs(got.get("a")! - 0.25)).toBeLessThan(0.02);
    expect(Math.abs(got.get("b")! - 0.25)).toBeLessThan(0.02);
    expect(Math.abs(got.get("c")! - 0.5)).toBeLessThan(0.02);
  });

  it("is stable: the same user gets the same variant every time and in a copy of the split", () => {
    const copy: Split = JSON.parse(JSON.stringify(split));
    for (const user of users.slice(0, 1_000)) expect(assignVariant(user, copy)).toBe(assignVariant(user, split));
  });

  it("a new salt reshuffles users (about 2 * 0.9 * 0.1 of them change variant)", () => {
    const resalted: Split = { ...split, salt: "two-tower-2027-01" };
    const moved = users.filter((u) => assignVariant(u, split) !== assignVariant(u, resalted)).length / users.length;
    expect(moved).toBeGreaterThan(0.15);
    expect(moved).toBeLessThan(0.21);
  });

  it("raising the treatment weight only moves control users to treatment", () => {
    const wider: Split = { ...split, variants: [{ name: "control", weight: 80 }, { name: "treatment", weight: 20 }] };
    for (const user of users) if (assignVariant(user, split) === "treatment") expect(assignVariant(user, wider)).toBe("treatment");
  });

  it("re-splits only the users of an excluded variant; zero weight gets nobody", () => {
    const three: Split = { salt: "s", variants: [{ name: "a", weight: 1 }, { name: "b", weight: 1 }, { name: "c", weight: 1 }] };
    const without = new Set(["b"]);
    const moved = shares((u) => assignVariant(u, three, without));
    expect(moved.get("b")).toBeUndefined();
    expect(Math.abs(moved.get("a")! - 0.5)).toBeLessThan(0.02);
    for (const user of users) {
      const before = assignVariant(user, three);
      if (before !== "b") expect(assignVariant(user, three, without)).toBe(before);
    }
    expect(shares((u) => assignVariant(u, { salt: "s", variants: [{ name: "a", weight: 0 }, { name: "b", weight: 3 }] })).get("b")).toBe(1);
    expect(assignVariant("u", three, new Set(["a", "b", "c"]))).toBeUndefined();
  });
});
