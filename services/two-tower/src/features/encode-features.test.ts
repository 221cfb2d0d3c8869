import { DeviceType, InteractionType, ItemFeatures, PageType, UserFeatures } from "@funnel/proto";
import { describe, expect, it } from "vitest";
import { sampleEvents } from "../testing/sample-events.js";
import { aggregateItemFeatures } from "./aggregate-item-features.js";
import { aggregateUserFeatures } from "./aggregate-user-features.js";
import { encodeItems, encodeUsers } from "./encode-features.js";
import { FeatureEncodingError } from "./errors.js";
import { buildFeatureSpec, OOV_INDEX, PAD_INDEX } from "./feature-spec.js";
import type { RawUserFeatures } from "./raw-features.js";
import { rawItemFeaturesFromProto, rawUserFeaturesFromProto } from "./raw-features-from-proto.js";

const data = sampleEvents({ users: 300, seed: 21, items: 120 });
const users = aggregateUserFeatures(data.events, { sequenceLength: 8 });
const items = aggregateItemFeatures(data.events, data.items);
const spec = buildFeatureSpec({ users: [...users.values()], items: [...items.values()] }, { sequenceLength: 8 });

describe("encoding", () => {
  // sessionCount 1, 3, 7 → log1p = ln 2, ln 4, ln 8: mean ln 4 (ln 64 / 3), std ln 2 · √(2/3), median 3.
  const tiny = buildFeatureSpec({
    users: [{ sessionCount: 1 }, { sessionCount: 3 }, { sessionCount: 7 }],
    items: [{ itemId: "a", category: "books" }, { itemId: "b", category: "toys" }],
  }, { sequenceLength: 4 });

  it("standardises log1p values with the training mean and std (hand-computed)", () => {
    expect(tiny.user.numeric[0]).toMatchObject({ name: "sessionCount", impute: 3 });
    expect(tiny.user.numeric[0]!.mean).toBeCloseTo(Math.log(4), 12);
    expect(tiny.user.numeric[0]!.std).toBeCloseTo(Math.LN2 * Math.sqrt(2 / 3), 12);
    const t = encodeUsers(tiny, [{ sessionCount: 7 }, { sessionCount: 1 }]);
    expect(t.numeric[0]).toBeCloseTo(Math.sqrt(3 / 2), 5); // (ln 8 − ln 4) / (ln 2 · √(2/3))
    expect(t.numeric[tiny.user.numericSize]).toBeCloseTo(-Math.sqrt(3 / 2), 5);
  });

  it("imputes missing numbers with the training median and maps missing or unknown categories to OOV", () => {
    const t = encodeUsers(tiny, [{}, { sessionCount: Number.NaN, device: "smartwatch" as "mobile" }, { device: "tablet" }]);
    expect(t.numeric[0]).toBeCloseTo(0, 6); // median 3 → ln 4 → z = 0
    expect(t.numeric[tiny.user.numericSize]).toBeCloseTo(0, 6);
    expect(Array.from(t.device)).toEqual([OOV_INDEX, OOV_INDEX, 2 + 2]); // tablet is token 2 → index 4
    const items = encodeItems(tiny, [{ itemId: "b", category: "toys" }, { itemId: "zzz", category: "garden" }, {}]);
    expect(Array.from(items.itemIndex)).toEqual([3, OOV_INDEX, OOV_INDEX]);
    expect(Array.from(items.category)).toEqual([3, OOV_INDEX, OOV_INDEX]);
  });

  it("keeps every category of an item as a bag: left-aligned, padded with 0, unknown ones OOV, none = OOV", () => {
    const genres = buildFeatureSpec({ users: [], items: [{ itemId: "m1", category: "Action|Comedy|Drama" }, { itemId: "m2", category: "Drama" }] });
    expect(genres.item.categorySlots).toBe(3);
    expect(genres.vocab.category.tokens).toEqual(["Action", "Comedy", "Drama"]);
    expect(genres.inputs.item.find((i) => i.name === "category")!.shape).toEqual([-1, 3]);
    const t = encodeItems(genres, [
      { itemId: "m1", category: "Action|Comedy|Drama" },
      { itemId: "m2", category: ["Drama", "Western"] },
      { itemId: "m3" },
      { itemId: "m4", category: "Comedy | Action|Comedy|Drama|Horror" },
    ]);
    expect(Array.from(t.category)).toEqual([2, 3, 4, 4, OOV_INDEX, PAD_INDEX, OOV_INDEX, PAD_INDEX, PAD_INDEX, 3, 2, 4]);
    expect(() => encodeItems(genres, [{ category: 7 as unknown as string }])).toThrow(/items\[0\]\.category must be a string or an array/);
  });

  it("encodes user attributes as a bag of name=value tokens, sorted by name; none = OOV", () => {
    const withAttributes = buildFeatureSpec({ users: [{ attributes: { country: "France", tier: "gold" } }, { attributes: { country: "Spain" } }], items: [] });
    expect(withAttributes.user.attributeSlots).toBe(2);
    expect(withAttributes.vocab.userAttribute.tokens).toEqual(["country=France", "country=Spain", "tier=gold"]);
    const t = encodeUsers(withAttributes, [{ attributes: { tier: "gold", country: "Spain" } }, {}, { attributes: { country: "Peru" } }]);
    expect(Array.from(t.attributes)).toEqual([3, 4, OOV_INDEX, PAD_INDEX, OOV_INDEX, PAD_INDEX]);
    // The last training user's attributes are the ones fitted: round-trips through aggregateUserFeatures.
    const raw = aggregateUserFeatures(data.events.slice(0, 5), { attributes: new Map([[data.events[0]!.userId, { country: "France" }]]) });
    expect(raw.get(data.events[0]!.userId)!.attributes).toEqual({ country: "France" });
  });

  it("left-pads short sequences with 0, keeps the most recent L, and marks unknown items OOV not padding", () => {
    const t = encodeUsers(tiny, [
      { recentInteractions: [{ itemId: "a", page: "home" }, { itemId: "new-item", page: "search" }] },
      { recentInteractions: ["a", "b", "a", "b", "a", "b"].map((itemId) => ({ itemId, page: "product" as const })) },
    ]);
    expect(Array.from(t.recentItems.subarray(0, 4))).toEqual([PAD_INDEX, PAD_INDEX, 2, OOV_INDEX]);
    expect(Array.from(t.recentPages.subarray(0, 4))).toEqual([PAD_INDEX, PAD_INDEX, 2, 3]);
    expect(Array.from(t.recentItems.subarray(4, 8))).toEqual([2, 3, 2, 3]); // the last four of six
  });

  it("rejects impossible values with the record and field in the message", () => {
    expect(() => encodeUsers(tiny, [{}, { sessionCount: -1 }])).toThrow(
      new FeatureEncodingError("users[1].sessionCount must be a finite number >= 0 or absent, got -1"),
    );
    expect(() => encodeItems(tiny, [{ avgDurationSeconds: Infinity }])).toThrow(/items\[0\]\.avgDurationSeconds/);
    expect(() => encodeUsers(tiny, [{ device: 2 as unknown as "mobile" }])).toThrow("users[0].device must be a string, got 2");
    // Interactions are named by their index in the record as sent, also when older ones fall outside the window.
    const recent = [{}, {}, {}, {}, { itemId: "x" }, { page: 7 as unknown as "home" }];
    expect(() => encodeUsers(tiny, [{}, { recentInteractions: recent }])).toThrow("users[1].recentInteractions[5].page must be a string, got 7");
    expect(() => encodeUsers(tiny, [{ recentInteractions: [{ itemId: ["x"] as unknown as string }] }])).toThrow(
      'users[0].recentInteractions[0].itemId must be a string, got ["x"]',
    );
  });

  it("encodes a proto message (sent over the wire) to the same tensor as the record built from events", () => {
    const [userId, fromEvents] = [...users.entries()].find(([, u]) => (u.recentInteractions?.length ?? 0) >= 3)!;
    expect(userId).toBeDefined();
    const pageEnum = { home: PageType.PAGE_TYPE_HOME, search: PageType.PAGE_TYPE_SEARCH, product: PageType.PAGE_TYPE_PRODUCT, payment: PageType.PAGE_TYPE_PAYMENT, confirmation: PageType.PAGE_TYPE_CONFIRMATION };
    const kindEnum = { click: InteractionType.INTERACTION_TYPE_CLICK, scroll: InteractionType.INTERACTION_TYPE_SCROLL, hover: InteractionType.INTERACTION_TYPE_HOVER, form: InteractionType.INTERACTION_TYPE_FORM };
    const deviceEnum = { desktop: DeviceType.DEVICE_TYPE_DESKTOP, mobile: DeviceType.DEVICE_TYPE_MOBILE, tablet: DeviceType.DEVICE_TYPE_TABLET };
    const message = UserFeatures.fromPartial({
      device: deviceEnum[fromEvents.device!],
      sessionCount: fromEvents.sessionCount,
      avgSessionDurationSeconds: fromEvents.avgSessionDurationSeconds,
      interactionCount: fromEvents.interactionCount,
      interactionDensity: fromEvents.interactionDensity,
      conversionCount: fromEvents.conversionCount,
      conversionRate: fromEvents.conversionRate,
      recentInteractions: fromEvents.recentInteractions!.map((i) => ({
        page: pageEnum[i.page!],
        interaction: kindEnum[i.interaction!],
        itemId: i.itemId,
        durationSeconds: i.durationSeconds,
      })),
    });
    const received = UserFeatures.decode(UserFeatures.encode(message).finish());
    const fromProto = rawUserFeaturesFromProto(received);
    expect(fromProto).toEqual(fromEvents);
    expect(encodeUsers(spec, [fromProto])).toEqual(encodeUsers(spec, [fromEvents]));

    // A plain JSON body with the proto's camelCase field names is already a raw record.
    const plain = JSON.parse(JSON.stringify(fromEvents)) as RawUserFeatures;
    expect(encodeUsers(spec, [plain])).toEqual(encodeUsers(spec, [fromEvents]));
  });

  it("maps unset proto fields to absent values that the spec imputes", () => {
    const fromProto = rawUserFeaturesFromProto(UserFeatures.fromPartial({}));
    expect(fromProto).toEqual({ recentInteractions: [] });
    expect(encodeUsers(spec, [fromProto])).toEqual(encodeUsers(spec, [{}]));
    const item = rawItemFeaturesFromProto(ItemFeatures.fromPartial({ itemId: data.items[0]!.itemId, category: "books", page: PageType.PAGE_TYPE_PRODUCT }));
    expect(item).toEqual({ itemId: data.items[0]!.itemId, category: "books", page: "product" });
  });
});
