import { describe, expect, it } from "vitest";
import type { InteractionEvent } from "../event.js";
import { aggregateItemFeatures } from "./aggregate-item-features.js";

function event(overrides: Partial<InteractionEvent>): InteractionEvent {
  return {
    userId: "u1",
    sessionId: "s1",
    timestamp: 0,
    device: "mobile",
    page: "home",
    interaction: "click",
    durationSeconds: 1,
    itemId: "i1",
    converted: false,
    ...overrides,
  };
}

describe("aggregateItemFeatures", () => {
  it("takes the most frequent page and interaction, mean duration, and adds attribute-only items", () => {
    const events = [
      event({ itemId: "a", page: "product", interaction: "hover", durationSeconds: 10 }),
      event({ itemId: "a", page: "product", interaction: "scroll", durationSeconds: 20 }),
      event({ itemId: "a", page: "payment", interaction: "scroll", durationSeconds: 30 }),
    ];
    const result = aggregateItemFeatures(events, [
      { itemId: "a", category: "books" },
      { itemId: "b", category: "toys", page: "product" },
    ]);
    expect(result.get("a")).toEqual({ itemId: "a", page: "product", interaction: "scroll", avgDurationSeconds: 20, category: "books" });
    expect(result.get("b")).toEqual({ itemId: "b", category: "toys", page: "product" });
  });
});
