// The model the benchmark serves: a two-tower model directory trained on generated data (so the raw user ids
// behind the stored pseudonyms are known), trained once by the training CLI and reused from a cache folder.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { FileRegistry } from "@funnel/registry";
import { MODEL_FILES, parseFeatureSpec, pseudonymiseUserId, readFloat32LittleEndian } from "@funnel/two-tower";

export interface BenchModel {
  dir: string;
  dim: number;
  /** Raw user ids (as a client sends them) whose pseudonyms the model holds embeddings for. */
  userIds: string[];
  /** Item ids of the model's item vocabulary, for recent interactions. */
  itemIds: string[];
  /** The stored embedding of each raw user id, to check answers against. */
  userVector(rawId: string): Float32Array | undefined;
}

export const BENCH_TRAINING = { users: 3000, seed: 7, epochs: 2, dim: 128 } as const;

/** Trains the bench model into `dir` with the training CLI unless a complete model directory is there. */
export function ensureBenchModel(dir: string, repoRoot: string, log: (line: string) => void): void {
  if (existsSync(path.join(dir, "manifest.json"))) return;
  const t = BENCH_TRAINING;
  const args = ["run", "train", "--silent", "-w", "@funnel/training", "--", "--generate", "--users", String(t.users), "--seed", String(t.seed), "--epochs", String(t.epochs), "--dim", String(t.dim), "--out", dir];
  log(`training the bench model (about a minute): npm ${args.join(" ")}`);
  const result = spawnSync("npm", args, { cwd: repoRoot, stdio: ["ignore", "ignore", "inherit"] });
  if (result.status !== 0) throw new Error(`training the bench model failed (exit ${result.status}); run the command above to see why`);
}

/**
 * Reads what the clients need from the model directory. Generated data names users `user-000001` and up;
 * only those whose salted pseudonym is in users.ids.txt are used, so a by-id input never misses.
 */
export async function loadBenchModel(dir: string, salt: string): Promise<BenchModel> {
  const spec = parseFeatureSpec(JSON.parse(await readFile(path.join(dir, MODEL_FILES.featureSpec), "utf8")));
  const pseudonyms = (await readFile(path.join(dir, MODEL_FILES.userIds), "utf8")).split("\n").filter(Boolean);
  const vectors = readFloat32LittleEndian(await readFile(path.join(dir, MODEL_FILES.userEmbeddings)));
  const dim = vectors.length / pseudonyms.length;
  if (!Number.isInteger(dim)) throw new Error(`${dir}: ${vectors.length} floats for ${pseudonyms.length} user ids`);
  const row = new Map(pseudonyms.map((p, i) => [p, i]));
  const width = Math.max(6, String(pseudonyms.length).length);
  const userIds: string[] = [];
  const rowOf = new Map<string, number>();
  for (let u = 1; u <= pseudonyms.length; u++) {
    const raw = `user-${String(u).padStart(width, "0")}`;
    const r = row.get(pseudonymiseUserId(raw, salt));
    if (r === undefined) continue;
    userIds.push(raw);
    rowOf.set(raw, r);
  }
  if (userIds.length === 0) throw new Error(`${dir}: no generated user id (user-000001 ...) matches a stored pseudonym with this salt; train the model with --generate`);
  return {
    dir,
    dim,
    userIds,
    itemIds: [...spec.vocab.item.tokens],
    userVector: (rawId) => {
      const r = rowOf.get(rawId);
      return r === undefined ? undefined : vectors.subarray(r * dim, (r + 1) * dim);
    },
  };
}

/** A fresh file registry holding the bench model as version 1 of "two-tower", alias production. */
export async function benchRegistry(modelDir: string, dataDir: string): Promise<{ dataDir: string; version: number }> {
  const registry = new FileRegistry({ dataDir, actor: "embedding-bench" });
  const registered = await registry.register(modelDir, { model: "two-tower" });
  await registry.setAlias("two-tower", "production", registered.version, { reason: "embedding benchmark" });
  return { dataDir, version: registered.version };
}
