import { describe, expect, it } from "vitest";
import { ITEM_NUMERIC_FIELDS, type RawItemFeatures, type RawUserFeatures, USER_NUMERIC_FIELDS } from "./raw-features.js";
import { itemFeaturesKey, userFeaturesKey } from "./raw-features-key.js";

const user: RawUserFeatures = {
  device: "mobile",
  sessionCount: 3,
  avgSessionDurationSeconds: 120.5,
  conversionRate: 0.25,
  recentInteractions: [
    { page: "product", interaction: "click", itemId: "item-00001", durationSeconds: 4 },
    { page: "search", interaction: "scroll" },
  ],
};

describe("userFeaturesKey", () => {
  it("is the same for equal records whatever their property order", () => {
    const reordered: RawUserFeatures = {
      recentInteractions: [
        { durationSeconds: 4, itemId: "item-00001", interaction: "click", page: "product" },
        { interaction: "scroll", page: "search" },
      ],
      conversionRate: 0.25,
      avgSessionDurationSeconds: 120.5,
      sessionCount: 3,
      device: "mobile",
    };
    expect(userFeaturesKey(reordered)).toBe(userFeaturesKey(user));
  });

  it("differs whenever any field differs, absent included", () => {
    const variants: RawUserFeatures[] = [
      user,
      { ...user, device: undefined },
      { ...user, device: "desktop" },
      { ...user, sessionCount: 4 },
      { ...user, sessionCount: undefined },
      { ...user, sessionCount: Number.NaN },
      { ...user, interactionCount: 3 },
      { ...user, conversionRate: undefined, conversionCount: 0.25 },
      { ...user, recentInteractions: undefined },
      { ...user, recentInteractions: [] },
      { ...user, recentInteractions: user.recentInteractions!.slice(0, 1) },
      { ...user, recentInteractions: [...user.recentInteractions!].reverse() },
      { ...user, recentInteractions: [{ ...user.recentInteractions![0]!, durationSeconds: 5 }, user.recentInteractions![1]!] },
      { ...user, recentInteractions: [{ ...user.recentInteractions![0]!, itemId: "" }, user.recentInteractions![1]!] },
      { ...user, recentInteractions: [{ ...user.recentInteractions![0]!, itemId: undefined }, user.recentInteractions![1]!] },
      { ...user, attributes: {} },
      { ...user, attributes: { country: "UK" } },
      { ...user, attributes: { country: "FR" } },
      { ...user, attributes: { country: "UK", segment: "b2b" } },
    ];
    const keys = variants.map(userFeaturesKey);
    expect(new Set(keys).size).toBe(variants.length);
  });

  it("covers every numeric field the encoder reads (a field added to the spec must join the key)", () => {
    for (const field of USER_NUMERIC_FIELDS) expect(userFeaturesKey({ [field]: 1 }), field).not.toBe(userFeaturesKey({}));
    for (const field of ITEM_NUMERIC_FIELDS) expect(itemFeaturesKey({ [field]: 1 }), field).not.toBe(itemFeaturesKey({}));
  });

  it("cannot be forged by ids that contain the separators", () => {
    const a: RawUserFeatures = { recentInteractions: [{ itemId: "x,-,-,1:y" }] };
    const b: RawUserFeatures = { recentInteractions: [{ itemId: "x" }, { itemId: "y" }] };
    const c: RawUserFeatures = { recentInteractions: [{ itemId: "x|2" }] };
    const d: RawUserFeatures = { recentInteractions: [{ itemId: "x" }, { itemId: "2" }] };
    expect(new Set([a, b, c, d].map(userFeaturesKey)).size).toBe(4);
  });

  it("keeps malformed values apart from well-formed ones (the encoder rejects them later)", () => {
    const bad = { sessionCount: "3" } as unknown as RawUserFeatures;
    expect(userFeaturesKey(bad)).not.toBe(userFeaturesKey({ sessionCount: 3 }));
    const badList = { recentInteractions: "none" } as unknown as RawUserFeatures;
    expect(userFeaturesKey(badList)).not.toBe(userFeaturesKey({}));
  });
});

describe("itemFeaturesKey", () => {
  it("is equal for equal records and differs for any changed field", () => {
    const item: RawItemFeatures = { itemId: "item-00002", page: "product", interaction: "click", avgDurationSeconds: 12, category: "shoes" };
    expect(itemFeaturesKey({ category: "shoes", avgDurationSeconds: 12, interaction: "click", page: "product", itemId: "item-00002" })).toBe(itemFeaturesKey(item));
    const variants: RawItemFeatures[] = [
      item,
      { ...item, itemId: undefined },
      { ...item, page: "search" },
      { ...item, interaction: undefined },
      { ...item, avgDurationSeconds: 13 },
      { ...item, category: "" },
      { ...item, category: undefined },
      { ...item, itemId: "item-00002|5:click", interaction: undefined },
    ];
    expect(new Set(variants.map(itemFeaturesKey)).size).toBe(variants.length);
  });
});
