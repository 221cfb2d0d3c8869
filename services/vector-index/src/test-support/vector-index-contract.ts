// The one behaviour suite every backend runs (exact, HNSW, Milvus), each compared with exact search.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DimensionMismatchError, IndexStateError, InvalidVectorArgumentError, VersionMismatchError } from "../errors.js";
import { ExactIndex } from "../exact-index.js";
import type { Attributes, IndexVersion, VectorIndex } from "../vector-index.js";
import { randomUnitVectors, rowsOf } from "./random-vectors.js";

export type MakeIndex = (version: IndexVersion, dim: number) => Promise<VectorIndex>;

const DIM = 32;
const COUNT = 3000;
const QUERIES = 40;
const K = 10;
const DEVICES = ["mobile", "desktop", "tablet"];
const V3 = { model: "two-tower", version: "3" };

let entityCounter = 0;
/** Each index gets its own entity, so backends with shared storage (Milvus) never see another test's data. */
function freshVersion(): IndexVersion {
  entityCounter++;
  return { ...V3, entity: `users${entityCounter}_${process.pid}` };
}

function recall(expected: string[][], actual: string[][]): number {
  let hits = 0;
  let total = 0;
  expected.forEach((ids, q) => {
    const got = new Set(actual[q]);
    for (const id of ids) if (got.has(id)) hits++;
    total += ids.length;
  });
  return total === 0 ? 1 : hits / total;
}

export function describeVectorIndexContract(backend: string, makeIndex: MakeIndex, minRecall: number, skip = false): void {
  describe.skipIf(skip)(`${backend}: VectorIndex contract`, () => {
    const data = randomUnitVectors(COUNT, DIM, 11, 30);
    const rows = rowsOf(data, DIM);
    const ids = rows.map((_, i) => `u${i}`);
    const attributes: Attributes[] = rows.map((_, i) => ({ device: DEVICES[i % 3]!, premium: i % 7 === 0 }));
    const queries = rowsOf(randomUnitVectors(QUERIES, DIM, 12, 30), DIM);
    let index: VectorIndex;
    let reference: ExactIndex;
    const opened: VectorIndex[] = [];

    async function filled(version = freshVersion(), count = COUNT): Promise<VectorIndex> {
      const made = await makeIndex(version, DIM);
      opened.push(made);
      await made.upsert({ version, ids: ids.slice(0, count), vectors: rows.slice(0, count), attributes: attributes.slice(0, count) });
      return made;
    }

    beforeAll(async () => {
      index = await filled();
      reference = new ExactIndex({ version: index.version, dim: DIM });
      await reference.upsert({ version: V3, ids, vectors: rows, attributes });
    });
    afterAll(async () => {
      for (const made of opened) await made.close();
    });

    it("holds every upserted vector and names its version", async () => {
      expect(await index.size()).toBe(COUNT);
      expect(index.dim).toBe(DIM);
      const result = await index.search({ version: V3, vectors: queries.slice(0, 1) }, K);
      expect(result.version).toEqual(index.version);
    });

    it(`finds the exact top-${K} (recall >= ${minRecall}) with scores equal to the inner product`, async () => {
      const expected = await reference.search({ version: V3, vectors: queries }, K);
      const actual = await index.search({ version: V3, vectors: queries }, K);
      expect(actual.hits).toHaveLength(QUERIES);
      const got = recall(
        expected.hits.map((h) => h.map((x) => x.id)),
        actual.hits.map((h) => h.map((x) => x.id)),
      );
      expect(got).toBeGreaterThanOrEqual(minRecall);
      for (const [q, list] of actual.hits.entries()) {
        expect(list).toHaveLength(K);
        for (let i = 1; i < list.length; i++) expect(list[i]!.score).toBeLessThanOrEqual(list[i - 1]!.score + 1e-6);
        for (const hit of list) {
          const row = rows[Number(hit.id.slice(1))]!;
          let dot = 0;
          for (let d = 0; d < DIM; d++) dot += row[d]! * queries[q]![d]!;
          expect(hit.score).toBeCloseTo(dot, 4);
        }
      }
    });

    it("refuses a query vector from another model version, naming both versions (INVALID_ARGUMENT)", async () => {
      const error = await index.search({ version: { model: "two-tower", version: "2" }, vectors: queries.slice(0, 1) }, K).catch((e) => e);
      expect(error).toBeInstanceOf(VersionMismatchError);
      expect(error.grpcStatus).toBe("INVALID_ARGUMENT");
      expect(error.message).toContain("two-tower v2");
      expect(error.message).toContain("two-tower v3");
      const otherModel = await index.search({ version: { model: "ranker", version: "3" }, vectors: queries.slice(0, 1) }, K).catch((e) => e);
      expect(otherModel).toBeInstanceOf(VersionMismatchError);
      const upsert = await index.upsert({ version: { model: "two-tower", version: "4" }, ids: ["x"], vectors: [rows[0]!] }).catch((e) => e);
      expect(upsert).toBeInstanceOf(VersionMismatchError);
    });

    it("refuses a query of another dimension, naming both (INVALID_ARGUMENT)", async () => {
      const error = await index.search({ version: V3, vectors: [new Float32Array(DIM - 1)] }, K).catch((e) => e);
      expect(error).toBeInstanceOf(DimensionMismatchError);
      expect(error.grpcStatus).toBe("INVALID_ARGUMENT");
      expect(error.message).toContain(`${DIM - 1} values`);
      expect(error.message).toContain(`dimension ${DIM}`);
    });

    it("refuses k out of range and non-finite values (INVALID_ARGUMENT)", async () => {
      for (const k of [0, -1, 1.5, 1001]) {
        await expect(index.search({ version: V3, vectors: queries.slice(0, 1) }, k)).rejects.toBeInstanceOf(InvalidVectorArgumentError);
      }
      const nan = new Float32Array(DIM).fill(Number.NaN);
      await expect(index.search({ version: V3, vectors: [nan] }, K)).rejects.toThrow(/finite/);
    });

    it("filters by attribute equality, matching exact filtered search", async () => {
      const filter = { device: "tablet", premium: false };
      const expected = await reference.search({ version: V3, vectors: queries }, K, { filter });
      const actual = await index.search({ version: V3, vectors: queries }, K, { filter });
      for (const list of actual.hits) {
        expect(list).toHaveLength(K);
        for (const hit of list) expect(attributes[Number(hit.id.slice(1))]).toEqual({ device: "tablet", premium: false });
      }
      const got = recall(
        expected.hits.map((h) => h.map((x) => x.id)),
        actual.hits.map((h) => h.map((x) => x.id)),
      );
      expect(got).toBeGreaterThanOrEqual(minRecall);
      const none = await index.search({ version: V3, vectors: queries.slice(0, 2) }, K, { filter: { device: "tv" } });
      expect(none.hits).toEqual([[], []]);
    });

    it("never returns excluded ids (shared and per query)", async () => {
      const self = [rows[5]!, rows[6]!];
      const plain = await index.search({ version: V3, vectors: self }, 3);
      expect(plain.hits.map((h) => h[0]!.id)).toEqual(["u5", "u6"]);
      const excluded = await index.search({ version: V3, vectors: self }, 3, { excludeIds: ["u5"], excludeIdsPerQuery: [[], ["u6"]] });
      for (const list of excluded.hits) {
        expect(list).toHaveLength(3);
        expect(list.map((h) => h.id)).not.toContain("u5");
      }
      expect(excluded.hits[1]!.map((h) => h.id)).not.toContain("u6");
      expect(excluded.hits[0]![0]!.id).toBe(plain.hits[0]![1]!.id);
      await expect(index.search({ version: V3, vectors: self }, 3, { excludeIdsPerQuery: [[]] })).rejects.toBeInstanceOf(InvalidVectorArgumentError);
    });

    it("drops hits below minScore", async () => {
      const all = await index.search({ version: V3, vectors: queries.slice(0, 3) }, K);
      const minScore = all.hits[0]![4]!.score;
      const cut = await index.search({ version: V3, vectors: queries.slice(0, 3) }, K, { minScore });
      for (const list of cut.hits) for (const hit of list) expect(hit.score).toBeGreaterThanOrEqual(minScore);
      expect(cut.hits[0]!.length).toBeGreaterThanOrEqual(5);
      expect(cut.hits[0]!.length).toBeLessThan(K);
    });

    it("sees an upsert in the next query: new ids, replaced vectors and attributes", async () => {
      const version = freshVersion();
      const small = await filled(version, 500);
      const fresh = randomUnitVectors(1, DIM, 99);
      await small.upsert({ version, ids: ["new-1"], vectors: [fresh], attributes: [{ device: "tv" }] });
      expect(await small.size()).toBe(501);
      const found = await small.search({ version: V3, vectors: [fresh] }, 1);
      expect(found.hits[0]![0]!.id).toBe("new-1");
      expect(found.hits[0]![0]!.score).toBeCloseTo(1, 5);
      const byDevice = await small.search({ version: V3, vectors: [rows[0]!] }, 5, { filter: { device: "tv" } });
      expect(byDevice.hits[0]!.map((h) => h.id)).toEqual(["new-1"]);

      // u7 moves to where the new vector is; its old position no longer finds it first.
      await small.upsert({ version, ids: ["u7"], vectors: [fresh], attributes: [{ device: "tv" }] });
      expect(await small.size()).toBe(501);
      const moved = await small.search({ version: V3, vectors: [fresh] }, 2);
      expect(moved.hits[0]!.map((h) => h.id).sort()).toEqual(["new-1", "u7"]);
      const old = await small.search({ version: V3, vectors: [rows[7]!] }, 1);
      expect(old.hits[0]![0]!.id).not.toBe("u7");
    });

    it("deletes: removed ids never come back and the size drops", async () => {
      const version = freshVersion();
      const small = await filled(version, 500);
      expect(await small.delete(["u1", "u2", "missing"])).toBe(2);
      expect(await small.size()).toBe(498);
      const result = await small.search({ version: V3, vectors: [rows[1]!, rows[2]!] }, 20);
      for (const list of result.hits) {
        expect(list).toHaveLength(20);
        expect(list.map((h) => h.id)).not.toContain("u1");
        expect(list.map((h) => h.id)).not.toContain("u2");
      }
      expect(await small.delete(["u1"])).toBe(0);
      await small.upsert({ version, ids: ["u1"], vectors: [rows[1]!] });
      const back = await small.search({ version: V3, vectors: [rows[1]!] }, 1);
      expect(back.hits[0]![0]!.id).toBe("u1");
    });

    it("returns fewer than k when the index holds fewer vectors", async () => {
      const version = freshVersion();
      const tiny = await filled(version, 3);
      const result = await tiny.search({ version: V3, vectors: [rows[0]!] }, 10);
      expect(result.hits[0]!.map((h) => h.id).sort()).toEqual(["u0", "u1", "u2"]);
    });

    it("refuses every call once closed (FAILED_PRECONDITION)", async () => {
      const closed = await filled(freshVersion(), 10);
      await closed.close();
      const error = await closed.search({ version: V3, vectors: [rows[0]!] }, 1).catch((e) => e);
      expect(error).toBeInstanceOf(IndexStateError);
      expect(error.grpcStatus).toBe("FAILED_PRECONDITION");
    });
  });
}
