// First run of the embedded platform: with no two-tower version behind the alias the services follow, train a
// small model on generated data, register it and point the alias at it, so `npm start` on a fresh machine
// serves every service without a separate training step. Later starts find the version and skip all this.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { AliasNotFoundError, ModelNotFoundError, registerAndMaybePromote } from "@funnel/registry";
import { pseudonymSaltOf, registryFromModelConfig, setting, type ConfigOf, type Logger, type ProcessConfig } from "@funnel/runtime";
import { DEVELOPMENT_PSEUDONYM_SALT } from "@funnel/two-tower";

export const firstRunSettings = {
  firstRun: setting.boolean({
    env: "FUNNEL_FIRST_RUN_TRAIN",
    flag: "--first-run-train",
    default: true,
    description: "When the registry has no two-tower version behind the followed alias, train a small one on generated data and register it.",
  }),
  firstRunUsers: setting.integer({
    env: "FUNNEL_FIRST_RUN_USERS",
    flag: "--first-run-users",
    default: 5_000,
    min: 50,
    max: 1_000_000,
    description: "Generated users for the first-run model (5000 users, 5 epochs: about 40 s of training on 2 cores; 3 epochs left it at popularity's recall).",
  }),
  firstRunEpochs: setting.integer({
    env: "FUNNEL_FIRST_RUN_EPOCHS",
    flag: "--first-run-epochs",
    default: 5,
    min: 1,
    max: 100,
    description: "Epochs of the first-run model.",
  }),
};

/**
 * Trains, registers and promotes a first model when the two-tower version the embedding service follows
 * (its model and ref settings) resolves to nothing.
 */
export async function trainFirstModelIfMissing(config: ProcessConfig, log: Logger): Promise<void> {
  const own = config.process as ConfigOf<typeof firstRunSettings>;
  const embedding = config.modules.embedding as { model: string; modelRef: string } | undefined;
  if (!own.firstRun || !embedding) return;
  const { model, modelRef: alias } = embedding;
  if (/^v?\d+$/.test(alias)) return;
  const registry = registryFromModelConfig(config.models);
  try {
    await registry.resolve(model, alias);
    return;
  } catch (error) {
    if (!(error instanceof ModelNotFoundError || error instanceof AliasNotFoundError)) throw error;
  }
  log.warn({ model, alias, registry: registry.location }, "first run: no model version to serve; training a small two-tower model on generated data (progress on stderr)");
  // Loaded only here: the training package pulls in tfjs, which a normal start never needs.
  const { parseRunConfig, runTraining } = await import("@funnel/training");
  const work = await mkdtemp(path.join(os.tmpdir(), "funnel-first-run-"));
  try {
    const out = path.join(work, "model");
    const started = Date.now();
    const summary = await runTraining(
      parseRunConfig({
        name: model,
        data: { generate: { users: own.firstRunUsers, seed: 7 } },
        model: { dim: 128 },
        training: { epochs: own.firstRunEpochs },
        // Fixed baseline values: tuning them on validation (7 EASE inversions, 12 item-kNN fits) only refines
        // figures nobody reads before a first start serves, and would slow that start.
        baselines: { easeLambda: 500, knnShrink: 50, knnNeighbours: 0 },
        seed: 7,
        out,
      }),
      { salt: pseudonymSaltOf(config.models.pseudonym) || DEVELOPMENT_PSEUDONYM_SALT, gitCommit: "first-run", progress: process.stderr.isTTY === true, log: (line) => process.stderr.write(`${line}\n`) },
    );
    const published = await registerAndMaybePromote(registry, summary.out, { model, promoteIfBetter: { metric: "recall@10", alias } });
    log.info(
      { model, version: published.version.version, alias, promoted: published.promoted, metrics: summary.headlineMetrics, seconds: Math.round((Date.now() - started) / 1000) },
      "first run: model registered",
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
