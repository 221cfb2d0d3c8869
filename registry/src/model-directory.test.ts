import { createHash } from "node:crypto";
import { mkdtemp, mkdir, readFile, rm, writeFile, appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ChecksumMismatchError, InvalidModelDirectoryError } from "./errors.js";
import {
  assertFilesMatchManifest,
  MODEL_DIRECTORY_FORMAT,
  readModelDirectory,
  verifyModelDirectory,
  writeModelDirectoryManifest,
} from "./model-directory.js";

const meta = {
  name: "two-tower",
  kind: "two-tower",
  metrics: { recallAt10: 0.42 },
  params: { epochs: 3, optimizer: "adam", normalize: true },
  lineage: { dataFingerprint: "abc123", gitCommit: "deadbeef", seed: 7, trainingConfig: { lr: 0.01 } },
};

describe("model directory", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "model-dir-"));
    await writeFile(path.join(dir, "user_tower.onnx"), Buffer.from([1, 2, 3, 4]));
    await mkdir(path.join(dir, "embeddings"));
    await writeFile(path.join(dir, "embeddings", "users.ids.txt"), "u1\nu2\n");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("lists every file with its sha256 and size, using posix paths, and round-trips", async () => {
    const written = await writeModelDirectoryManifest(dir, meta);
    expect(Object.keys(written.files)).toEqual(["embeddings/users.ids.txt", "user_tower.onnx"]);
    // Independent hash of the same bytes, so the test does not trust the code under test.
    const expected = createHash("sha256").update(Buffer.from([1, 2, 3, 4])).digest("hex");
    expect(written.files["user_tower.onnx"]).toEqual({ sha256: expected, bytes: 4 });
    expect(written.files["embeddings/users.ids.txt"]?.bytes).toBe(6);
    expect(written.format).toBe(MODEL_DIRECTORY_FORMAT);
    const read = await readModelDirectory(dir);
    expect(read).toEqual(written);
    const onDisk = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8"));
    expect(onDisk.lineage).toEqual(meta.lineage);
    await expect(verifyModelDirectory(dir)).resolves.toBeUndefined();
  });

  it("keeps a caller-supplied createdAt", async () => {
    const m = await writeModelDirectoryManifest(dir, { ...meta, createdAt: "2026-01-02T03:04:05.000Z" });
    expect(m.createdAt).toBe("2026-01-02T03:04:05.000Z");
  });

  it("names the modified file when a checksum no longer matches", async () => {
    await writeModelDirectoryManifest(dir, meta);
    await writeFile(path.join(dir, "user_tower.onnx"), Buffer.from([9, 9, 9, 9]));
    const err = await verifyModelDirectory(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChecksumMismatchError);
    expect((err as ChecksumMismatchError).file).toBe("user_tower.onnx");
    expect((err as Error).message).toContain("user_tower.onnx");
  });

  it("detects a size change, a deleted file and an added file", async () => {
    await writeModelDirectoryManifest(dir, meta);
    await appendFile(path.join(dir, "embeddings", "users.ids.txt"), "u3\n");
    await expect(verifyModelDirectory(dir)).rejects.toThrow(/embeddings\/users\.ids\.txt/);
    await rm(path.join(dir, "embeddings", "users.ids.txt"));
    await expect(verifyModelDirectory(dir)).rejects.toThrow(/missing file/);
    await writeModelDirectoryManifest(dir, meta);
    await writeFile(path.join(dir, "extra.bin"), "x");
    await expect(verifyModelDirectory(dir)).rejects.toThrow(/extra\.bin.*not listed/);
  });

  it("rejects a wrong format, a missing manifest and bad metadata with a message naming the problem", async () => {
    await expect(readModelDirectory(dir)).rejects.toThrow(/cannot read manifest\.json/);
    await writeFile(path.join(dir, "manifest.json"), JSON.stringify({ format: "other/v9" }));
    await expect(readModelDirectory(dir)).rejects.toThrow(/format "other\/v9", expected "funnel-model\/v1"/);
    await writeFile(path.join(dir, "manifest.json"), "{not json");
    await expect(readModelDirectory(dir)).rejects.toThrow(InvalidModelDirectoryError);
    await expect(writeModelDirectoryManifest(dir, { ...meta, name: "bad/name" })).rejects.toThrow(/model name "bad\/name"/);
    await expect(writeModelDirectoryManifest(dir, { ...meta, metrics: { auc: Number.NaN } })).rejects.toThrow(/metric "auc"/);
    await expect(
      writeModelDirectoryManifest(dir, { ...meta, lineage: { dataFingerprint: "" } }),
    ).rejects.toThrow(/dataFingerprint/);
  });

  it("pre-checks that listed files exist and nothing unlisted would be left behind", async () => {
    const manifest = await writeModelDirectoryManifest(dir, meta);
    await expect(assertFilesMatchManifest(dir, manifest)).resolves.toBeUndefined();
    await writeFile(path.join(dir, "notes.txt"), "x");
    await expect(assertFilesMatchManifest(dir, manifest)).rejects.toThrow(/not listed.*notes\.txt/);
    await rm(path.join(dir, "notes.txt"));
    await rm(path.join(dir, "user_tower.onnx"));
    await expect(assertFilesMatchManifest(dir, manifest)).rejects.toThrow(ChecksumMismatchError);
  });
});
