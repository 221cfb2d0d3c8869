import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { aliasVersionAt } from "./alias-history.js";
import {
  AliasNotFoundError,
  ChecksumMismatchError,
  FailedPreconditionError,
  InvalidArgumentError,
  ModelNotFoundError,
  VersionNotFoundError,
} from "./errors.js";
import { FileRegistry } from "./file-registry.js";
import { MlflowRegistry } from "./mlflow-registry.js";
import type { ModelRegistry, ModelVersion } from "./model-registry.js";
import { registerAndMaybePromote, rollbackAlias } from "./register-and-maybe-promote.js";
import { makeModelDir } from "./test-support/make-model-dir.js";

interface BackendFixture {
  name: "file" | "mlflow";
  available: boolean;
  create(actor?: string): ModelRegistry;
  /** Corrupts one stored artifact of a version the way a bad disk or a manual edit would. */
  tamper(version: ModelVersion, rel: string): Promise<void>;
  remove(version: ModelVersion, rel: string): Promise<void>;
}

const mlflowUrl = inject("mlflowUrl");
const mlflowArtifactsDir = inject("mlflowArtifactsDir");
let work: string;

const backends: BackendFixture[] = [
  {
    name: "file",
    available: true,
    create: (actor = "alice") => new FileRegistry({ dataDir: path.join(work, "file-registry"), actor }),
    tamper: (version, rel) => writeFile(path.join(version.source, ...rel.split("/")), "corrupted bytes"),
    remove: (version, rel) => rm(path.join(version.source, ...rel.split("/"))),
  },
  {
    name: "mlflow",
    available: mlflowUrl !== null,
    create: (actor = "alice") => new MlflowRegistry({ url: mlflowUrl as string, actor }),
    tamper: async (version, rel) => {
      const artifactPath = new URL(version.source).pathname.replace(/^\/+/, "");
      await writeFile(path.join(mlflowArtifactsDir as string, artifactPath, ...rel.split("/")), "corrupted bytes");
    },
    remove: async (version, rel) => {
      const artifactPath = new URL(version.source).pathname.replace(/^\/+/, "");
      await rm(path.join(mlflowArtifactsDir as string, artifactPath, ...rel.split("/")));
    },
  },
];

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "registry-suite-"));
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** The MLflow server is shared by all tests, so every test uses its own model name. */
const uniqueModel = (label: string) => `${label}-${randomBytes(4).toString("hex")}`;

for (const backend of backends) {
  describe.skipIf(!backend.available)(`ModelRegistry (${backend.name} backend)`, () => {
    let registry: ModelRegistry;
    beforeAll(() => {
      registry = backend.create();
    });

    async function registerNew(model: string, metrics: Record<string, number> = { recallAt10: 0.5 }): Promise<ModelVersion> {
      const { dir } = await makeModelDir({ name: model, metrics, parent: work });
      return registry.register(dir);
    }

    it("registers versions with metrics, params, lineage and checksums, numbered from 1", async () => {
      const model = uniqueModel("two-tower");
      const { dir, manifest } = await makeModelDir({ name: model, metrics: { recallAt10: 0.41, ndcg: 0.2 }, parent: work });
      const v1 = await registry.register(dir, { model });
      expect(v1.version).toBe(1);
      expect(v1.manifest.metrics).toEqual({ recallAt10: 0.41, ndcg: 0.2 });
      expect(v1.manifest.params).toEqual({ epochs: 2, optimizer: "adam", normalize: true });
      expect(v1.manifest.lineage).toEqual(manifest.lineage);
      expect(v1.manifest.files).toEqual(manifest.files);
      expect(v1.manifest.files["feature-spec.json"]).toBeDefined();
      expect(v1.registeredBy).toBe("alice");
      expect(v1.archived).toBe(false);
      const v2 = await registerNew(model);
      expect(v2.version).toBe(2);

      const versions = await registry.listVersions(model);
      expect(versions.map((v) => v.version)).toEqual([1, 2]);
      const models = await registry.listModels();
      expect(models.find((m) => m.name === model)).toMatchObject({ latestVersion: 2, versionCount: 2 });
      expect((await registry.getVersion(model, 1)).manifest.lineage.dataFingerprint).toBe(manifest.lineage.dataFingerprint);
    });

    it("refuses a directory registered under another model name, and one with unlisted files", async () => {
      const model = uniqueModel("named");
      const { dir } = await makeModelDir({ name: model, parent: work });
      await expect(registry.register(dir, { model: "something-else" })).rejects.toThrow(InvalidArgumentError);
      await writeFile(path.join(dir, "stray.bin"), "x");
      await expect(registry.register(dir)).rejects.toThrow(/stray\.bin/);
      await expect(registry.listVersions(model)).rejects.toThrow(ModelNotFoundError);
    });

    it("refuses to register a directory whose files changed after the manifest was written", async () => {
      const model = uniqueModel("changed");
      const { dir } = await makeModelDir({ name: model, parent: work });
      await writeFile(path.join(dir, "item_tower.onnx"), "tampered after training");
      const err = await registry.register(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChecksumMismatchError);
      expect((err as ChecksumMismatchError).file).toBe("item_tower.onnx");
      await expect(registry.listVersions(model)).rejects.toThrow(ModelNotFoundError);
    });

    it("resolves by number, v-number and alias, and names what is missing", async () => {
      const model = uniqueModel("resolve");
      await registerNew(model);
      await registerNew(model);
      await registry.setAlias(model, "production", 1);
      expect((await registry.resolve(model, 2)).version).toBe(2);
      expect((await registry.resolve(model, "v2")).version).toBe(2);
      expect((await registry.resolve(model, "1")).version).toBe(1);
      const prod = await registry.resolve(model, "production");
      expect(prod.version).toBe(1);
      expect(prod.aliases).toEqual(["production"]);

      await expect(registry.resolve(uniqueModel("nope"), 1)).rejects.toThrow(ModelNotFoundError);
      await expect(registry.resolve(model, 99)).rejects.toThrow(VersionNotFoundError);
      const aliasErr = await registry.resolve(model, "candidate").catch((e: unknown) => e);
      expect(aliasErr).toBeInstanceOf(AliasNotFoundError);
      expect((aliasErr as Error).message).toContain("candidate");
      await expect(registry.resolve(model, "latest")).rejects.toThrow(InvalidArgumentError);
      await expect(registry.setAlias(model, "production", 99)).rejects.toThrow(VersionNotFoundError);
      await expect(registry.deleteAlias(model, "candidate")).rejects.toThrow(AliasNotFoundError);
    });

    it("answers every operation on an unknown model with ModelNotFoundError", async () => {
      const model = uniqueModel("ghost");
      const dest = path.join(work, `dl-${randomBytes(3).toString("hex")}`);
      const attempts: [string, () => Promise<unknown>][] = [
        ["listVersions", () => registry.listVersions(model)],
        ["getVersion", () => registry.getVersion(model, 1)],
        ["resolve", () => registry.resolve(model, "production")],
        ["getAliases", () => registry.getAliases(model)],
        ["setAlias", () => registry.setAlias(model, "production", 1)],
        ["deleteAlias", () => registry.deleteAlias(model, "production")],
        ["aliasHistory", () => registry.aliasHistory(model)],
        ["archive", () => registry.archive(model, 1)],
        ["download", () => registry.download(model, 1, dest)],
      ];
      for (const [operation, attempt] of attempts) {
        const err = await attempt().catch((e: unknown) => e);
        expect(err, operation).toBeInstanceOf(ModelNotFoundError);
      }
      expect((await registry.listModels()).map((m) => m.name)).not.toContain(model);
    });

    it("records every alias set, move and delete with time, versions and actor", async () => {
      const model = uniqueModel("audit");
      await registerNew(model);
      await registerNew(model);
      const bob = backend.create("bob");
      const before = Date.now();
      await registry.setAlias(model, "production", 1, { reason: "first release" });
      await bob.setAlias(model, "production", 2);
      await registry.setAlias(model, "candidate", 2);
      await bob.deleteAlias(model, "candidate");
      const after = Date.now();

      const history = await registry.aliasHistory(model);
      expect(history.map((e) => [e.alias, e.action, e.previousVersion, e.newVersion, e.actor])).toEqual([
        ["production", "set", null, 1, "alice"],
        ["production", "set", 1, 2, "bob"],
        ["candidate", "set", null, 2, "alice"],
        ["candidate", "delete", 2, null, "bob"],
      ]);
      expect(history[0]?.reason).toBe("first release");
      for (const event of history) {
        expect(Date.parse(event.at)).toBeGreaterThanOrEqual(before - 1000);
        expect(Date.parse(event.at)).toBeLessThanOrEqual(after + 1000);
      }
      expect((await registry.aliasHistory(model, "production")).length).toBe(2);
      expect(await registry.getAliases(model)).toEqual({ production: 2 });
      const second = history[1];
      expect(second).toBeDefined();
      expect(aliasVersionAt(history, "production", new Date(Date.parse(second!.at) - 1))).toBe(1);
      expect(aliasVersionAt(history, "production", new Date(after + 1000))).toBe(2);
    });

    it("rollback walks back along the audit trail", async () => {
      const model = uniqueModel("rollback");
      for (let i = 0; i < 3; i += 1) await registerNew(model);
      await registry.setAlias(model, "production", 1);
      await registry.setAlias(model, "production", 2);
      await registry.setAlias(model, "production", 3);

      const first = await rollbackAlias(registry, model, "production");
      expect([first.action, first.previousVersion, first.newVersion]).toEqual(["rollback", 3, 2]);
      expect((await registry.resolve(model, "production")).version).toBe(2);
      await rollbackAlias(registry, model, "production");
      expect((await registry.resolve(model, "production")).version).toBe(1);
      await expect(rollbackAlias(registry, model, "production")).rejects.toThrow(FailedPreconditionError);
      await expect(rollbackAlias(registry, model, "candidate")).rejects.toThrow(/no alias "candidate"/);
      expect((await registry.aliasHistory(model, "production")).map((e) => e.newVersion)).toEqual([1, 2, 3, 2, 1]);
    });

    it("promote-if-better moves the alias only for a better metric, in either direction", async () => {
      const model = uniqueModel("promote");
      const make = (metrics: Record<string, number>) => makeModelDir({ name: model, metrics, parent: work }).then((m) => m.dir);
      const policy = { metric: "recallAt10", alias: "candidate" };

      const first = await registerAndMaybePromote(registry, await make({ recallAt10: 0.3, loss: 0.9 }), { promoteIfBetter: policy });
      expect(first.promoted).toBe(true);
      const worse = await registerAndMaybePromote(registry, await make({ recallAt10: 0.2, loss: 0.5 }), { promoteIfBetter: policy });
      expect(worse.promoted).toBe(false);
      expect(worse.reason).toContain("does not beat");
      expect((await registry.resolve(model, "candidate")).version).toBe(1);
      const better = await registerAndMaybePromote(registry, await make({ recallAt10: 0.35, loss: 0.7 }), { promoteIfBetter: policy });
      expect(better.promoted).toBe(true);
      expect((await registry.resolve(model, "candidate")).version).toBe(3);

      const lossPolicy = { metric: "loss", alias: "candidate", lowerIsBetter: true };
      const higherLoss = await registerAndMaybePromote(registry, await make({ recallAt10: 0.9, loss: 0.8 }), { promoteIfBetter: lossPolicy });
      expect(higherLoss.promoted).toBe(false);
      const lowerLoss = await registerAndMaybePromote(registry, await make({ recallAt10: 0.1, loss: 0.6 }), { promoteIfBetter: lossPolicy });
      expect(lowerLoss.promoted).toBe(true);
      expect((await registry.resolve(model, "candidate")).version).toBe(5);
      await expect(
        registerAndMaybePromote(registry, await make({ auc: 0.5 }), { promoteIfBetter: policy }),
      ).rejects.toThrow(/no metric "recallAt10"/);
    });

    it("archives a version: still readable, no longer aliasable, and never while an alias points at it", async () => {
      const model = uniqueModel("archive");
      await registerNew(model);
      await registerNew(model);
      await registry.setAlias(model, "production", 2);
      await expect(registry.archive(model, 2)).rejects.toThrow(/alias "production"/);
      const archived = await registry.archive(model, 1);
      expect(archived.archived).toBe(true);
      expect((await registry.listVersions(model)).map((v) => [v.version, v.archived])).toEqual([
        [1, true],
        [2, false],
      ]);
      await expect(registry.setAlias(model, "production", 1)).rejects.toThrow(FailedPreconditionError);
      expect((await registry.resolve(model, 1)).archived).toBe(true);
    });

    it("downloads a version with every file verified, byte for byte", async () => {
      const model = uniqueModel("download");
      const { dir } = await makeModelDir({ name: model, parent: work, towerBytes: 300_000 });
      await registry.register(dir);
      await registry.setAlias(model, "production", 1);
      const dest = path.join(work, `dl-${randomBytes(3).toString("hex")}`);
      const seen: number[] = [];
      const result = await registry.download(model, "production", dest, { onProgress: (p) => seen.push(p.doneBytes) });
      expect(result.version.version).toBe(1);
      for (const rel of ["user_tower.onnx", "item_tower.onnx", "feature-spec.json", "embeddings/users.ids.txt", "manifest.json"]) {
        const copied = await readFile(path.join(dest, rel));
        expect(copied.equals(await readFile(path.join(dir, rel))), rel).toBe(true);
      }
      expect(seen.at(-1)).toBe(Object.values(result.version.manifest.files).reduce((s, f) => s + f.bytes, 0));
      await expect(registry.download(model, 1, dest)).rejects.toThrow(/not empty/);
    });

    it("refuses a version whose stored artifact no longer matches its checksum", async () => {
      const model = uniqueModel("corrupt");
      const version = await registerNew(model);
      await backend.tamper(version, "item_tower.onnx");
      const dest = path.join(work, `dl-${randomBytes(3).toString("hex")}`);
      const err = await registry.download(model, 1, dest).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChecksumMismatchError);
      expect((err as ChecksumMismatchError).file).toBe("item_tower.onnx");
      await expect(stat(dest)).rejects.toThrow(/ENOENT/);
      const leftovers = (await readdir(work)).filter((name) => name.includes(path.basename(dest)));
      expect(leftovers).toEqual([]);
    });

    it("refuses a version one of whose stored artifacts has disappeared", async () => {
      const model = uniqueModel("missing");
      const version = await registerNew(model);
      await backend.remove(version, "embeddings/users.ids.txt");
      const err = await registry.download(model, 1, path.join(work, `dl-${randomBytes(3).toString("hex")}`)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChecksumMismatchError);
      expect((err as Error).message).toMatch(/embeddings\/users\.ids\.txt.*missing file/);
    });

    it("gives concurrent registrations distinct version numbers", async () => {
      const model = uniqueModel("concurrent");
      const dirs = await Promise.all([0, 1, 2, 3].map(() => makeModelDir({ name: model, parent: work })));
      const others = [backend.create("w1"), backend.create("w2"), backend.create("w3"), backend.create("w4")];
      const versions = await Promise.all(dirs.map(({ dir }, i) => others[i]!.register(dir)));
      expect(versions.map((v) => v.version).sort()).toEqual([1, 2, 3, 4]);
      // Each number must hold the directory that was registered as it, not a mix.
      for (const [i, v] of versions.entries()) {
        expect(v.manifest.lineage.dataFingerprint).toBe(dirs[i]!.manifest.lineage.dataFingerprint);
      }
    });
  });
}
