import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { writeModelDirectoryManifest, type ModelManifest } from "../model-directory.js";

export interface ModelDirSpec {
  name: string;
  metrics?: Record<string, number>;
  /** Size of the fake tower file; large values exercise streaming and the crash test. */
  towerBytes?: number;
  parent?: string;
}

/** A small but complete model directory as training would write it: towers, feature spec, embeddings. */
export async function makeModelDir(spec: ModelDirSpec): Promise<{ dir: string; manifest: ModelManifest }> {
  const dir = await mkdtemp(path.join(spec.parent ?? tmpdir(), "model-"));
  await writeFile(path.join(dir, "user_tower.onnx"), randomBytes(spec.towerBytes ?? 2048));
  await writeFile(path.join(dir, "item_tower.onnx"), randomBytes(1024));
  await writeFile(path.join(dir, "feature-spec.json"), JSON.stringify({ features: ["page", "device", "country"] }));
  await mkdir(path.join(dir, "embeddings"));
  await writeFile(path.join(dir, "embeddings", "users.ids.txt"), "u1\nu2\nu3\n");
  const manifest = await writeModelDirectoryManifest(dir, {
    name: spec.name,
    kind: "two-tower",
    metrics: spec.metrics ?? { recallAt10: 0.5 },
    params: { epochs: 2, optimizer: "adam", normalize: true },
    lineage: { dataFingerprint: `fp-${randomBytes(4).toString("hex")}`, gitCommit: "0123abc", seed: 42, trainingConfig: { lr: 0.01 } },
  });
  return { dir, manifest };
}
