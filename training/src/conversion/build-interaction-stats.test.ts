import type { InteractionEvent } from "@funnel/two-tower";
import { describe, expect, it } from "vitest";
import { buildInteractionStats } from "./build-interaction-stats.js";

const event = (userId: string, sessionId: string, t: number, page: InteractionEvent["page"], itemId: string, extra: Partial<InteractionEvent> = {}): InteractionEvent => ({
  userId,
  sessionId,
  timestamp: t,
  device: "mobile",
  page,
  interaction: "click",
  durationSeconds: 1,
  itemId,
  converted: false,
  ...extra,
});

describe("buildInteractionStats", () => {
  it("keys users by pseudonym with their device, items by frequency, pages and conversion; counts items; page base rates before conversion", () => {
    const stats = buildInteractionStats(
      [
        event("a", "s1", 1, "home", "i1"),
        event("a", "s1", 2, "product", "i2"),
        event("a", "s1", 3, "product", "i2"),
        event("a", "s1", 4, "confirmation", "i3", { converted: true }),
        event("b", "s2", 5, "home", "i1", { device: "desktop" }),
      ],
      (id) => `p-${id}`,
    );
    expect(stats.users).toEqual({
      "p-a": { device: "mobile", items: ["i2", "i1", "i3"], pages: ["home", "product", "confirmation"], converted: true },
      "p-b": { device: "desktop", items: ["i1"], pages: ["home"], converted: false },
    });
    expect(stats.items.i1).toEqual({ count: 2, page: "home", byDevice: { mobile: 1, desktop: 1 } });
    // home: a's session converts later, b's does not; product: a's only; the converting event itself is not counted.
    expect(stats.baseRates).toEqual({ home: 0.5, product: 1 });
  });
});
