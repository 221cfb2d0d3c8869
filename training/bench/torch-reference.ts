import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { TrainedRun } from "../src/cli/run-training.js";
import { hasTorch } from "./has-torch.js";
import { evaluateRetrieval, type RetrievalMetrics } from "../src/evaluation/index.js";
import type { RetrievalContext } from "../src/model/build-retrieval-task.js";
import { architectureOf } from "../src/model/two-tower-model.js";

const run = promisify(execFile);
const TORCH_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "torch_two_tower.py");

export interface TorchReferenceResult {
  available: boolean;
  reason?: string;
  version?: string;
  /** Per epoch: training loss and validation recall@10 (what picks the epoch, as in tfjs training). */
  epochs?: { epoch: number; trainLoss: number; seconds: number; "validation recall@10": number }[];
  bestEpoch?: number;
  validation?: RetrievalMetrics;
  test?: RetrievalMetrics;
}

/**
 * The repository's PyTorch two-tower (bench/torch_two_tower.py, `fit` mode) trained on exactly the split, feature
 * tensors, training pairs and hyper-parameters of a tfjs run, its epoch picked by validation recall@10 and scored by
 * the same metrics code: a reference for what the architecture reaches outside tfjs.
 */
export async function runTorchReference(trained: Pick<TrainedRun, "task" | "towerConfig" | "trainOptions">, options: { python: string; threads?: number; log?: (line: string) => void }): Promise<TorchReferenceResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  // Checked first: without torch there is no reference run to announce.
  if (!hasTorch(options.python)) return { available: false, reason: `${options.python} cannot import torch (pip install torch)` };
  const { task, towerConfig, trainOptions } = trained;
  // torch_two_tower.py mirrors the MLP towers only; a history run compared with it would compare two models.
  if (architectureOf(towerConfig) !== "mlp") return { available: false, reason: "the PyTorch reference mirrors the mlp model; run with --architecture mlp to compare" };
  const dir = await mkdtemp(path.join(os.tmpdir(), "torch-reference-"));
  try {
    const manifest: Record<string, { file: string; dtype: "float32" | "int32"; shape: number[] }> = {};
    // Tables are [rows, width] (width = values / rows), vectors [length].
    const add = async (name: string, values: Float32Array | Int32Array, rows?: number): Promise<void> => {
      const file = `${name}.bin`;
      await writeFile(path.join(dir, file), new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      const shape = rows === undefined ? [values.length] : [rows, rows === 0 ? 0 : values.length / rows];
      manifest[name] = { file, dtype: values instanceof Float32Array ? "float32" : "int32", shape };
    };
    await add("pairs.user", task.training.train.pairs.user);
    await add("pairs.item", task.training.train.pairs.item);
    await add("itemLogQ", task.training.itemLogQ);
    for (const f of ["numeric", "itemIndex", "page", "interaction", "category"] as const) await add(`items.${f}`, task.items[f], task.items.count);
    for (const [part, users] of [["train", task.training.train.users], ["validation", task.validation.users], ["test", task.test.users]] as const) {
      for (const f of ["numeric", "device", "recentItems", "recentPages", "attributes"] as const) await add(`${part}.${f}`, users[f], users.count);
      if (task.spec.user.idBuckets > 0) await add(`${part}.userId`, users.userId, users.count);
    }
    const config = {
      ...towerConfig,
      arrays: manifest,
      epochs: trainOptions.epochs,
      batchSize: trainOptions.batchSize,
      learningRate: trainOptions.learningRate,
      weightDecay: trainOptions.weightDecay,
      temperature: trainOptions.temperature,
      dropout: trainOptions.dropout,
      userIdDropout: trainOptions.userIdDropout,
      seed: trainOptions.seed,
      threads: options.threads ?? 1,
    };
    await writeFile(path.join(dir, "config.json"), JSON.stringify(config));
    log(`PyTorch reference: ${trainOptions.epochs} epochs on the same ${task.training.train.pairs.user.length} training pairs`);
    let stdout: string;
    try {
      ({ stdout } = await run(options.python, [TORCH_SCRIPT, "fit", path.join(dir, "config.json"), dir], { maxBuffer: 1 << 24 }));
    } catch (error) {
      const e = error as { code?: number | string; stdout?: string; stderr?: string; message: string };
      if (e.code === 3) return { available: false, reason: "torch is not installed" };
      if (e.code === "ENOENT") return { available: false, reason: `${options.python} not found` };
      throw new Error(`PyTorch reference failed: ${e.stderr || e.message}`);
    }
    const out = JSON.parse(stdout) as { torch: string; epochs: { epoch: number; trainLoss: number; seconds: number }[] };
    const dim = towerConfig.dim;
    const embeddings = async (epoch: number, name: string) => new Float32Array((await readFile(path.join(dir, `epoch${epoch}.${name}.f32`))).buffer.slice(0));
    const score = (users: Float32Array, items: Float32Array, context: RetrievalContext) =>
      evaluateRetrieval({ userEmbeddings: users, itemEmbeddings: items, dim, testPositives: context.positives, trainSeen: context.seen });
    const epochs: NonNullable<TorchReferenceResult["epochs"]> = [];
    let best = { epoch: 0, recall: Number.NEGATIVE_INFINITY, validation: undefined as RetrievalMetrics | undefined };
    for (const e of out.epochs) {
      const validation = score(await embeddings(e.epoch, "validation"), await embeddings(e.epoch, "items"), task.validation);
      epochs.push({ ...e, "validation recall@10": validation["recall@10"] });
      if (validation["recall@10"] > best.recall) best = { epoch: e.epoch, recall: validation["recall@10"], validation };
    }
    const test = score(await embeddings(best.epoch, "test"), await embeddings(best.epoch, "items"), task.test);
    return { available: true, version: out.torch, epochs, bestEpoch: best.epoch, validation: best.validation!, test };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
