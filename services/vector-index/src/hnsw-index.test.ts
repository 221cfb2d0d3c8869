import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { IndexNotFoundError, VersionMismatchError } from "./errors.js";
import { HnswIndex, hnswIndexFile } from "./hnsw-index.js";
import { randomUnitVectors, rowsOf } from "./test-support/random-vectors.js";
import { describeVectorIndexContract } from "./test-support/vector-index-contract.js";

describeVectorIndexContract("hnsw (usearch)", async (version, dim) => new HnswIndex({ version, dim, params: { threads: 1 } }), 0.95);

describe("HnswIndex save and load", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("round-trips graph, ids and attributes beside the model version, and refuses another version", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "hnsw-"));
    dirs.push(dir);
    const version = { model: "two-tower", version: "3", entity: "items" };
    const data = rowsOf(randomUnitVectors(800, 16, 3, 10), 16);
    const index = new HnswIndex({ version, dim: 16, params: { threads: 1 } });
    await index.upsert({
      version,
      ids: data.map((_, i) => `i${i}`),
      vectors: data,
      attributes: data.map((_, i) => (i % 2 ? { device: "mobile" } : undefined)),
    });
    await index.delete(["i3"]);
    const file = hnswIndexFile(dir, "items");
    expect(file).toBe(path.join(dir, "index", "items.usearch"));
    await index.save(file);

    const loaded = await HnswIndex.load(file, { expected: version });
    expect(await loaded.size()).toBe(799);
    const queries = data.slice(0, 20);
    const before = await index.search({ version, vectors: queries }, 5, { filter: { device: "mobile" } });
    const after = await loaded.search({ version, vectors: queries }, 5, { filter: { device: "mobile" } });
    expect(after).toEqual(before);
    expect(after.hits.flat().map((h) => h.id)).not.toContain("i3");
    // Keys keep counting after a load: a new id must not reuse a live key.
    await loaded.upsert({ version, ids: ["fresh"], vectors: [data[0]!] });
    const both = await loaded.search({ version, vectors: [data[0]!] }, 2);
    expect(both.hits[0]!.map((h) => h.id).sort()).toEqual(["fresh", "i0"]);

    await expect(HnswIndex.load(file, { expected: { ...version, version: "4" } })).rejects.toBeInstanceOf(VersionMismatchError);
    const missing = await HnswIndex.load(path.join(dir, "nope.usearch")).catch((e) => e);
    expect(missing).toBeInstanceOf(IndexNotFoundError);
    expect(missing.grpcStatus).toBe("NOT_FOUND");
  });
});
