import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { checkPseudonymSalt, PseudonymSaltMismatchError, pseudonymiseEvents, pseudonymiseUserId, pseudonymSaltFingerprint } from "./pseudonymise.js";

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

describe("pseudonym salt fingerprint", () => {
  it("is an HMAC of a fixed label keyed by the salt: stable, salt-specific, never containing the salt", () => {
    expect(pseudonymSaltFingerprint("s1")).toBe(pseudonymSaltFingerprint("s1"));
    expect(pseudonymSaltFingerprint("s1")).not.toBe(pseudonymSaltFingerprint("s2"));
    expect(pseudonymSaltFingerprint("a-secret-salt")).not.toContain("a-secret-salt");
    expect(pseudonymSaltFingerprint("s1")).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
  });

  it("refuses another salt's fingerprint, accepts its own, and reports a version without one", () => {
    const unfingerprinted: number[] = [];
    const check = { salt: "serving-salt", onUnfingerprinted: (version: number) => unfingerprinted.push(version) };
    expect(() => checkPseudonymSalt(pseudonymSaltFingerprint("training-salt"), 4, check)).toThrow(PseudonymSaltMismatchError);
    expect(() => checkPseudonymSalt(pseudonymSaltFingerprint("training-salt"), 4, check)).toThrow(/model version 4 was trained with another pseudonym salt/);
    expect(() => checkPseudonymSalt(pseudonymSaltFingerprint("serving-salt"), 4, check)).not.toThrow();
    checkPseudonymSalt(undefined, 5, check);
    expect(unfingerprinted).toEqual([5]);
  });
});
