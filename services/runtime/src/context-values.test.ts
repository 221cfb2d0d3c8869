import { describe, expect, it } from "vitest";
import { ContextValues, createContextKey } from "./context-values.js";

describe("ContextValues", () => {
  it("returns the key's default until set, then the value set, per key", () => {
    const variant = createContextKey<string>("control", { description: "variant" });
    const attempts = createContextKey<number>(0);
    const values = new ContextValues();
    expect(values.get(variant)).toBe("control");
    values.set(variant, "b").set(attempts, 3);
    expect(values.get(variant)).toBe("b");
    expect(values.get(attempts)).toBe(3);
    values.delete(variant);
    expect(values.get(variant)).toBe("control");
  });

  it("tells keys apart by identity, not by description or default", () => {
    const a = createContextKey("x", { description: "same" });
    const b = createContextKey("x", { description: "same" });
    const values = new ContextValues().set(a, "a");
    expect(values.get(b)).toBe("x");
  });

  it("keeps a set undefined instead of falling back to the default", () => {
    const maybe = createContextKey<string | undefined>("default");
    expect(new ContextValues().set(maybe, undefined).get(maybe)).toBeUndefined();
  });
});
