import { describe, expect, it } from "vitest";
import { userRequest } from "./user-requests.js";

const options = { inputsPerCall: 8, userIds: ["user-000001", "user-000002", "user-000003"], itemIds: ["item-00001", "item-00002"], maxInteractions: 20 };

describe("userRequest", () => {
  it("alternates by-id and by-feature users within a call", () => {
    const kinds = userRequest(0, options).users.map((u) => u.input?.$case);
    expect(kinds).toEqual(["userId", "features", "userId", "features", "userId", "features", "userId", "features"]);
  });

  it("never repeats a by-feature user across calls, so an uncached run computes every one", () => {
    const seen = new Set<string>();
    for (let seq = 0; seq < 500; seq++) {
      for (const u of userRequest(seq, options).users) {
        if (u.input?.$case === "features") seen.add(JSON.stringify(u.input.value));
      }
    }
    expect(seen.size).toBe(500 * 4);
  });

  it("is deterministic and stays inside the model's ids and sequence length", () => {
    expect(userRequest(42, options)).toEqual(userRequest(42, options));
    for (const u of userRequest(7, { ...options, inputsPerCall: 64 }).users) {
      if (u.input?.$case === "userId") expect(options.userIds).toContain(u.input.value);
      else if (u.input?.$case === "features") {
        const recent = u.input.value.recentInteractions;
        expect(recent.length).toBeGreaterThanOrEqual(10);
        expect(recent.length).toBeLessThanOrEqual(20);
        for (const i of recent) expect(options.itemIds).toContain(i.itemId);
      }
    }
  });
});
