import { status } from "@grpc/grpc-js";
import { PageType } from "@funnel/proto";
import { describe, expect, it } from "vitest";
import { requireCount, requireKnownEnum, requireText } from "./validation.js";

describe("request validation", () => {
  it("rejects empty and whitespace-only text", () => {
    expect(() => requireText("   \n", "text", 10)).toThrow("text: must not be empty or only whitespace");
    expect(() => requireText("", "items[2].text", 10)).toThrow(/^items\[2\]\.text:/);
  });

  it("counts characters as code points and names the limit", () => {
    expect(requireText("😀".repeat(10), "text", 10)).toHaveLength(20);
    expect(() => requireText("a".repeat(11), "text", 10)).toThrow("text: is longer than the limit of 10 characters; shorten or split it");
  });

  it("accepts known enum values and rejects unknown ones with the valid names", () => {
    expect(requireKnownEnum(PageType.PAGE_TYPE_PAYMENT, PageType, "page")).toBe(4);
    expect(requireKnownEnum(0, PageType, "page")).toBe(0);
    let error: unknown;
    try {
      requireKnownEnum(42, PageType, "page");
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect((error as Error).message).toContain("page: unknown enum value 42; expected one of PAGE_TYPE_UNSPECIFIED, PAGE_TYPE_HOME");
    expect(() => requireKnownEnum(0, PageType, "page", { allowUnspecified: false })).toThrow("page: must be set");
  });

  it("limits repeated fields", () => {
    expect(() => requireCount(0, "items", 5)).toThrow("items: must contain at least one entry");
    expect(() => requireCount(6, "items", 5)).toThrow("items: has 6 entries, over the limit of 5; split the request");
    expect(() => requireCount(0, "items", 5, { allowEmpty: true })).not.toThrow();
  });
});
