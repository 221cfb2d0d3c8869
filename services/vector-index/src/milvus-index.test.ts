import { afterAll, describe, expect, inject, it } from "vitest";
import { IndexStateError, VectorStoreUnavailableError } from "./errors.js";
import { MilvusCatalog, milvusAliasName, milvusCollectionName } from "./milvus-catalog.js";
import { milvusFilter } from "./milvus-index.js";
import { randomUnitVectors, rowsOf } from "./test-support/random-vectors.js";
import { describeVectorIndexContract } from "./test-support/vector-index-contract.js";

const address = inject("milvusAddress");
const catalog = address ? new MilvusCatalog({ address, batchSize: 700 }) : undefined;
const created: Parameters<MilvusCatalog["dropVersion"]>[0][] = [];

afterAll(async () => {
  if (!catalog) return;
  for (const version of created) await catalog.dropVersion(version).catch(() => undefined);
  await catalog.close();
});

describeVectorIndexContract(
  "milvus",
  async (version, dim) => {
    created.push(version);
    return catalog!.createVersion({ version, dim });
  },
  0.95,
  !address,
);

describe("milvusFilter", () => {
  it("builds equality on JSON attributes and id exclusions with quoted literals", () => {
    expect(milvusFilter({ device: "mobile", premium: true, age: 3 }, ['u"1', "u2"])).toBe(
      'attrs["device"] == "mobile" and attrs["premium"] == true and attrs["age"] == 3 and id not in ["u\\"1", "u2"]',
    );
    expect(milvusFilter(undefined, [])).toBe("");
  });
});

describe.skipIf(!address)("MilvusCatalog versions and aliases", () => {
  const model = `two-tower-${process.pid}`;
  const dim = 8;
  const rows = rowsOf(randomUnitVectors(1500, dim, 5, 5), dim);
  const ids = rows.map((_, i) => `u${i}`);

  it("names one collection per model version and entity, and one alias per entity", () => {
    expect(milvusCollectionName({ model: "two-tower", version: "3", entity: "users" })).toBe("users_two_tower_v3");
    expect(milvusAliasName("two-tower", "users")).toBe("users_two_tower");
  });

  it("moves the alias only after the backfill is complete and counted, then drops the old version after the grace period", async () => {
    const c = catalog!;
    const v1 = { model, version: "1", entity: "users" };
    const v2 = { model, version: "2", entity: "users" };
    created.push(v1, v2);
    const first = await c.createVersion({ version: v1, dim });
    await first.insert({ version: v1, ids, vectors: rows });
    expect(await c.publish(first, rows.length, 1_000)).toEqual({ alias: milvusAliasName(model, "users"), previous: undefined });
    expect((await c.openServing(model, "users")).version).toEqual(v1);

    // Half a backfill: publishing is refused and the alias stays on v1.
    const second = await c.createVersion({ version: v2, dim });
    const progress: number[] = [];
    await second.insert({ version: v2, ids: ids.slice(0, 750), vectors: rows.slice(0, 750) }, (n) => progress.push(n));
    expect(progress).toEqual([700, 750]);
    const refused = await c.publish(second, rows.length, 2_000).catch((e) => e);
    expect(refused).toBeInstanceOf(IndexStateError);
    expect(refused.grpcStatus).toBe("FAILED_PRECONDITION");
    expect(refused.message).toContain("750 of 1500");
    const serving = await c.openServing(model, "users");
    expect(serving.version).toEqual(v1);
    // A query from v2's towers cannot reach the v1 collection the alias still names.
    await expect(serving.search({ version: v2, vectors: [rows[0]!] }, 1)).rejects.toThrow(/two-tower-\d+ v2/);

    await second.insert({ version: v2, ids: ids.slice(750), vectors: rows.slice(750) });
    expect(await c.publish(second, rows.length, 3_000)).toMatchObject({ previous: milvusCollectionName(v1) });
    const now = await c.openServing(model, "users");
    expect(now.version).toEqual(v2);
    expect((await now.search({ version: v2, vectors: [rows[9]!] }, 1)).hits[0]![0]!.id).toBe("u9");

    // v1 retired at t=3000: kept within the grace period, dropped after it; the serving v2 never.
    expect(await c.dropRetired({ model, entity: "users", graceMs: 10_000, now: 12_999 })).toEqual([]);
    expect(await c.dropRetired({ model, entity: "users", graceMs: 10_000, now: 13_000 })).toEqual([milvusCollectionName(v1)]);
    expect(await c.dropRetired({ model, entity: "users", graceMs: 0, now: 99_999 })).toEqual([]);
    await expect(c.openVersion(v1)).rejects.toMatchObject({ grpcStatus: "NOT_FOUND" });
    expect(await (await c.openVersion(v2)).size()).toBe(1500);
  });

  it("reopens an existing version with the same dimension and refuses another", async () => {
    const version = { model, version: "7", entity: "items" };
    created.push(version);
    const made = await catalog!.createVersion({ version, dim });
    await made.upsert({ version, ids: ["a"], vectors: [rows[0]!] });
    expect(await (await catalog!.createVersion({ version, dim })).size()).toBe(1);
    await expect(catalog!.createVersion({ version, dim: dim + 1 })).rejects.toBeInstanceOf(IndexStateError);
  });
});

describe("MilvusCatalog when Milvus is down", () => {
  it("answers UNAVAILABLE with a retry hint and does not crash the process", async () => {
    // Port 9 (discard) on loopback: nothing listens there.
    const down = new MilvusCatalog({ address: "127.0.0.1:9", timeoutMs: 2_000 });
    const error = await down.ping().catch((e) => e);
    expect(error).toBeInstanceOf(VectorStoreUnavailableError);
    expect(error.grpcStatus).toBe("UNAVAILABLE");
    expect(error.message).toMatch(/127\.0\.0\.1:9 is unreachable.*retry/);
    await expect(down.openVersion({ model: "m", version: "1", entity: "users" })).rejects.toBeInstanceOf(VectorStoreUnavailableError);
    await down.close();
  });
});

describe.skipIf(!address)("MilvusIndex after Milvus released its collection (as a restarted Milvus has)", () => {
  it("loads the collection again and answers, instead of failing every search until a restart", async () => {
    const version = { model: `reload-${process.pid}`, version: "1", entity: "users" };
    created.push(version);
    const dim = 8;
    const rows = rowsOf(randomUnitVectors(50, dim, 9, 2), dim);
    const index = await catalog!.createVersion({ version, dim });
    await index.insert({ version, ids: rows.map((_, i) => `u${i}`), vectors: rows });
    await catalog!.client.releaseCollection({ collection_name: milvusCollectionName(version) });
    const answers = await Promise.all([0, 1, 2].map((q) => index.search({ version, vectors: [rows[q]!] }, 1)));
    expect(answers.map((a) => a.hits[0]![0]!.id)).toEqual(["u0", "u1", "u2"]);
  });
});
