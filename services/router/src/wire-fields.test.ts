import { EmbedUsersRequest, FindSimilarUsersRequest, RecommendItemsResponse, GuideNextStepResponse } from "@funnel/proto";
import { describe, expect, it } from "vitest";
import { stringAt } from "./wire-fields.js";

describe("stringAt", () => {
  it("finds the first user id of EmbedUsers past other fields and feature rows", () => {
    const bytes = EmbedUsersRequest.encode({
      model: { name: "two-tower", version: "3" },
      users: [{ input: { $case: "features", value: { device: 1, sessionCount: 2, avgSessionDurationSeconds: 3, interactionCount: 4, recentInteractions: [] } } }, { input: { $case: "userId", value: "user-000042" } }],
    }).finish();
    // The first users[] entry decides: a feature row has no id, so there is none to route by.
    expect(stringAt(bytes, [1, 1])).toBeUndefined();
    const first = EmbedUsersRequest.encode({ users: [{ input: { $case: "userId", value: "user-000007" } }, { input: { $case: "userId", value: "user-000008" } }] }).finish();
    expect(stringAt(first, [1, 1])).toBe("user-000007");
  });

  it("reads a top-level user id and a response's model version", () => {
    const query = FindSimilarUsersRequest.encode({ query: { $case: "userId", value: "user-000123" }, topK: 10 }).finish();
    expect(stringAt(query, [1])).toBe("user-000123");
    expect(stringAt(RecommendItemsResponse.encode({ items: [{ itemId: "item-1", score: 1, source: 1 }], model: { name: "two-tower", version: "8" } }).finish(), [2, 2])).toBe("8");
    expect(stringAt(GuideNextStepResponse.encode(GuideNextStepResponse.fromPartial({ nextPage: 2, conversionProbability: 0.5, suggestions: [], model: { name: "two-tower", version: "9" } })).finish(), [4, 2])).toBe("9");
  });

  it("gives undefined for malformed bytes instead of throwing", () => {
    expect(stringAt(Buffer.from([0x0a, 0xff, 0xff, 0xff]), [1, 1])).toBeUndefined();
    expect(stringAt(Buffer.alloc(0), [1])).toBeUndefined();
  });
});
