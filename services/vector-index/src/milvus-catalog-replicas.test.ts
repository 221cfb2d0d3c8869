// Replicas of a Deployment start together against one Milvus, and each creates the version's collection when
// it is missing: none may find the collection half-made (created, properties not yet set) and refuse it. The
// fleet test met that as a start-up crash of one of four similarity/recommendation replicas.
import { describe, expect, inject, it } from "vitest";
import { MilvusCatalog } from "./milvus-catalog.js";

const address = inject("milvusAddress");

describe.skipIf(!address)("MilvusCatalog.createVersion by several replicas at once", () => {
  it("gives every replica the same collection, self-described, and one alias when they publish it together", async () => {
    const catalogs = Array.from({ length: 4 }, () => new MilvusCatalog({ address: address! }));
    const version = { model: `replicas-${process.pid}`, version: "1", entity: "users" };
    try {
      const indexes = await Promise.all(catalogs.map((catalog) => catalog.createVersion({ version, dim: 8 })));
      expect(new Set(indexes.map((index) => index.collection)).size).toBe(1);
      for (const index of indexes) {
        expect(index.version).toEqual(version);
        expect(index.dim).toBe(8);
      }
      await indexes[0]!.upsert({ version, ids: ["a"], vectors: [new Float32Array(8).fill(0.5)] });
      await indexes[0]!.flush();
      expect(await indexes[3]!.size()).toBe(1);
      // ...and publish it together: one alias, on that collection, whoever created it.
      const published = await Promise.all(catalogs.map((catalog, i) => catalog.publish(indexes[i]!, 1)));
      expect(new Set(published.map((p) => p.alias)).size).toBe(1);
      expect((await catalogs[1]!.openServing(version.model, version.entity)).collection).toBe(indexes[0]!.collection);
    } finally {
      await catalogs[0]!.dropVersion(version).catch(() => undefined);
      await Promise.all(catalogs.map((catalog) => catalog.close()));
    }
  });
});
