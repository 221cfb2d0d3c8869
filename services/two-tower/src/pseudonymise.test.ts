import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { pseudonymiseEvents, pseudonymiseUserId } from "./pseudonymise.js";

describe("pseudonymiseUserId", () => {
  it("is the salted SHA-256 hex prefix: stable, salt-dependent, and free of the raw id", () => {
    const expected = createHash("sha256").update("pepper\u0000user-42").digest("hex").slice(0, 24);
    expect(pseudonymiseUserId("user-42", "pepper")).toBe(expected);
    expect(pseudonymiseUserId("user-42", "pepper")).toBe(pseudonymiseUserId("user-42", "pepper"));
    expect(pseudonymiseUserId("user-42", "salt")).not.toBe(expected);
    expect(pseudonymiseUserId("user-43", "pepper")).not.toBe(expected);
    expect(expected).not.toContain("42");
  });

  it("keeps salt and id apart so shifting characters between them changes the pseudonym", () => {
    expect(pseudonymiseUserId("bc", "a")).not.toBe(pseudonymiseUserId("c", "ab"));
  });

  it("refuses an empty salt", () => {
    expect(() => pseudonymiseUserId("u1", "")).toThrow("salt must be a non-empty string");
  });

  it("replaces the user id of every event and leaves the rest", () => {
    const events = [
      { userId: "u1", itemId: "a" },
      { userId: "u2", itemId: "b" },
      { userId: "u1", itemId: "c" },
    ];
    const out = pseudonymiseEvents(events, "s");
    expect(out.map((e) => e.itemId)).toEqual(["a", "b", "c"]);
    expect(out[0]!.userId).toBe(pseudonymiseUserId("u1", "s"));
    expect(out[2]!.userId).toBe(out[0]!.userId);
    expect(out[1]!.userId).not.toBe(out[0]!.userId);
    expect(events[0]!.userId).toBe("u1");
  });
});
