// First model of a fresh machine (`npm run bootstrap`, and `npm start` when the registry has none): with no
// two-tower version behind the alias, train a small model on generated data, register it and point the alias
// at it. A training command, not serving code: the serving packages never load tfjs (their images carry only
// their production dependencies), and the embedded platform runs this as a child process when it needs it.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { AliasNotFoundError, ModelNotFoundError, registerAndMaybePromote, type ModelRegistry } from "@funnel/registry";
import { parseRunConfig } from "./run-config.js";
import { runTraining } from "./run-training.js";

export interface BootstrapOptions {
  registry: ModelRegistry;
  model: string;
  alias: string;
  users: number;
  epochs: number;
  salt: string;
  /** Progress and result lines (stderr in the CLI). */
  log: (line: string) => void;
  progress?: boolean;
}

/** What bootstrap did: nothing (a version is already there) or trained and registered one. */
export type BootstrapResult = { trained: false; version: number } | { trained: true; version: number; promoted: boolean; seconds: number; metrics: Record<string, number> };

export async function bootstrapFirstModel(options: BootstrapOptions): Promise<BootstrapResult> {
  const { registry, model, alias } = options;
  try {
    return { trained: false, version: (await registry.resolve(model, alias)).version };
  } catch (error) {
    if (!(error instanceof ModelNotFoundError || error instanceof AliasNotFoundError)) throw error;
  }
  options.log(`first run: no ${model}@${alias} in ${registry.location}; training a small two-tower model on generated data (${options.users} users, ${options.epochs} epochs)`);
  const work = await mkdtemp(path.join(os.tmpdir(), "funnel-first-run-"));
  try {
    const out = path.join(work, "model");
    const started = Date.now();
    const summary = await runTraining(
      parseRunConfig({
        name: model,
        data: { generate: { users: options.users, seed: 7 } },
        model: { dim: 128 },
        training: { epochs: options.epochs },
        // Fixed baseline values: tuning them on validation (7 EASE inversions, 12 item-kNN fits) only refines
        // figures nobody reads before a first start serves, and would slow that start.
        baselines: { easeLambda: 500, knnShrink: 50, knnNeighbours: 0 },
        seed: 7,
        out,
      }),
      { salt: options.salt, gitCommit: "first-run", progress: options.progress === true, log: options.log },
    );
    const published = await registerAndMaybePromote(registry, summary.out, { model, promoteIfBetter: { metric: "recall@10", alias } });
    const seconds = Math.round((Date.now() - started) / 1000);
    options.log(`first run: registered ${model} v${published.version.version}${published.promoted ? ` as ${alias}` : ""} in ${seconds} s`);
    return { trained: true, version: published.version.version, promoted: published.promoted, seconds, metrics: summary.headlineMetrics };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
