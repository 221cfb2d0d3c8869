import { describe, expect, it } from "vitest";
import type { InteractionEvent } from "../event.js";
import { aggregateUserFeatures } from "./aggregate-user-features.js";

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

describe("aggregateUserFeatures", () => {
  it("computes session, density and conversion features and the recent sequence (hand-checked)", () => {
    const events = [
      event({ timestamp: 30, sessionId: "s2", page: "payment", itemId: "i3", durationSeconds: 6 }),
      event({ timestamp: 10, page: "home", itemId: "i1", durationSeconds: 2 }),
      event({ timestamp: 20, page: "product", itemId: "i2", durationSeconds: 4, device: "desktop" }),
      event({ timestamp: 40, sessionId: "s2", page: "confirmation", itemId: "i3", durationSeconds: 8, converted: true }),
    ];
    const raw = aggregateUserFeatures(events, { sequenceLength: 3 }).get("u1");
    // Sessions: s1 = 2 + 4 = 6 s, s2 = 6 + 8 = 14 s → mean 10 s; 4 events / 2 sessions; 1 conversion / 2 sessions.
    expect(raw).toEqual({
      device: "mobile",
      sessionCount: 2,
      avgSessionDurationSeconds: 10,
      interactionCount: 4,
      interactionDensity: 2,
      conversionCount: 1,
      conversionRate: 0.5,
      recentInteractions: [
        { page: "product", interaction: "click", itemId: "i2", durationSeconds: 4 },
        { page: "payment", interaction: "click", itemId: "i3", durationSeconds: 6 },
        { page: "confirmation", interaction: "click", itemId: "i3", durationSeconds: 8 },
      ],
    });
  });
});
