import { DeviceType, UserFeatures } from "@funnel/proto";
import { describe, expect, it } from "vitest";
import { pseudonymiseUserId, withUserPseudonym } from "../pseudonymise.js";
import { sampleEvents } from "../testing/sample-events.js";
import { aggregateItemFeatures } from "./aggregate-item-features.js";
import { aggregateUserFeatures } from "./aggregate-user-features.js";
import { encodeUsers } from "./encode-features.js";
import { FeatureEncodingError } from "./errors.js";
import { buildFeatureSpec, parseFeatureSpec } from "./feature-spec.js";
import { rawUserFeaturesFromProto } from "./raw-features-from-proto.js";
import { userFeaturesKey } from "./raw-features-key.js";
import { NO_USER_ID, userIdBucket } from "./user-id-bucket.js";

const data = sampleEvents({ users: 200, seed: 5, items: 60 });
const pseudonymOf = (id: string) => pseudonymiseUserId(id, "pepper");
const users = aggregateUserFeatures(data.events, { sequenceLength: 6, pseudonymOf });
const items = aggregateItemFeatures(data.events, data.items);
const train = { users: [...users.values()], items: [...items.values()] };

describe("user-id buckets", () => {
  it("hash an id with FNV-1a into 1..buckets, and no id to the zero row", () => {
    // FNV-1a 32 of "a" is 0xe40c292c = 3826002220; 3826002220 mod 1000 = 220.
    expect(userIdBucket("a", 1000)).toBe(221);
    expect(userIdBucket("a", 1)).toBe(1);
    expect(userIdBucket(undefined, 1000)).toBe(NO_USER_ID);
    expect(userIdBucket("", 1000)).toBe(NO_USER_ID);
    expect(userIdBucket("a", 0)).toBe(NO_USER_ID);
    const buckets = new Set([...users.values()].map((u) => userIdBucket(u.userId, 64)));
    expect(Math.min(...buckets)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...buckets)).toBeLessThanOrEqual(64);
    // 200 pseudonyms over 64 buckets: a uniform hash fills nearly all of them (expected ≈ 61.8).
    expect(buckets.size).toBeGreaterThan(55);
  });

  it("reach the user tensors only with a spec that has them; records carry the pseudonym, not the raw id", () => {
    const [rawId, record] = [...users.entries()][0]!;
    expect(record.userId).toBe(pseudonymOf(rawId));
    const withIds = buildFeatureSpec(train, { sequenceLength: 6, userIdBuckets: 500 });
    expect(withIds.user.idBuckets).toBe(500);
    expect(withIds.inputs.user.map((i) => i.name)).toEqual(["numeric", "device", "recentItems", "recentPages", "attributes", "userId"]);
    expect(withIds.inputs.user.at(-1)).toEqual({ name: "userId", dtype: "int32", shape: [-1, 1] });
    const encoded = encodeUsers(withIds, [record, { ...record, userId: undefined }]);
    expect(Array.from(encoded.userId)).toEqual([userIdBucket(pseudonymOf(rawId), 500), NO_USER_ID]);

    const without = buildFeatureSpec(train, { sequenceLength: 6 });
    expect(without.user.idBuckets).toBe(0);
    expect(without.inputs.user.map((i) => i.name)).not.toContain("userId");
    expect(Array.from(encodeUsers(without, [record]).userId)).toEqual([NO_USER_ID]);
    expect(() => encodeUsers(withIds, [{ userId: 42 as unknown as string }])).toThrow(FeatureEncodingError);
    expect(() => encodeUsers(withIds, [{ userId: 42 as unknown as string }])).toThrow(/users\[0\]\.userId must be a string/);
    expect(() => buildFeatureSpec(train, { userIdBuckets: -1 })).toThrow(/userIdBuckets/);
  });

  it("keep specs written before them valid: no idBuckets parses as 0, and the round trip keeps the buckets", () => {
    const withIds = buildFeatureSpec(train, { sequenceLength: 6, userIdBuckets: 500 });
    expect(parseFeatureSpec(JSON.parse(JSON.stringify(withIds)))).toEqual(withIds);
    const old = JSON.parse(JSON.stringify(buildFeatureSpec(train, { sequenceLength: 6 })));
    delete old.user.idBuckets;
    expect(parseFeatureSpec(old).user.idBuckets).toBe(0);
    // A spec claiming buckets but without the input (or the other way round) is refused.
    const inconsistent = JSON.parse(JSON.stringify(withIds));
    inconsistent.user.idBuckets = 0;
    expect(() => parseFeatureSpec(inconsistent)).toThrow(/featureSpec\.inputs\.user must be/);
  });

  it("serving: proto user_id arrives raw, is pseudonymised before encoding, and separates cache keys", () => {
    const message = UserFeatures.fromPartial({ device: DeviceType.DEVICE_TYPE_MOBILE, userId: "user-42" });
    const raw = rawUserFeaturesFromProto(message);
    expect(raw.userId).toBe("user-42");
    expect(rawUserFeaturesFromProto(UserFeatures.fromPartial({ device: DeviceType.DEVICE_TYPE_MOBILE })).userId).toBeUndefined();
    const served = withUserPseudonym(raw, pseudonymOf);
    expect(served).toEqual({ ...raw, userId: pseudonymOf("user-42") });
    expect(raw.userId).toBe("user-42"); // the request's record is not modified
    const noId = { device: "mobile" as const };
    expect(withUserPseudonym(noId, pseudonymOf)).toBe(noId);
    expect(userFeaturesKey(raw)).not.toBe(userFeaturesKey({ ...raw, userId: "user-43" }));
    expect(userFeaturesKey(raw)).not.toBe(userFeaturesKey(noId));
  });
});
