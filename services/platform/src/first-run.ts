// First run of the embedded platform: with no two-tower version behind the alias the services follow, the
// training package's bootstrap command (`npm run bootstrap`) trains a small model on generated data, registers
// it and points the alias at it, so `npm start` on a fresh machine serves every service without a separate
// training step. It runs as a child process: serving code never imports @funnel/training (tfjs), which is a
// development dependency here. Later starts find the version and skip all this.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { AliasNotFoundError, ModelNotFoundError } from "@funnel/registry";
import { pseudonymSaltOf, registryFromModelConfig, registrySettings, setting, type ConfigOf, type Logger, type ProcessConfig } from "@funnel/runtime";

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
 * Runs the training package's bootstrap command when the two-tower version the embedding service follows
 * (its model and ref settings) resolves to nothing. The child gets this process's registry settings and salt
 * as env vars, so flags given to `npm start` (e.g. --registry-dir) reach it too.
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
  let cli: string;
  try {
    cli = path.join(path.dirname(createRequire(import.meta.url).resolve("@funnel/training/package.json")), "src", "cli", "main.ts");
  } catch {
    throw new Error(`no ${model}@${alias} in ${registry.location} and the training package is not installed here (a production install): register a model first, e.g. \`npm run bootstrap\` in a full checkout, or set --first-run-train false`);
  }
  log.info({ model, alias, registry: registry.location }, "first run: no model version to serve; running the training bootstrap (a small two-tower model on generated data, progress on stderr)");
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, spec] of Object.entries(registrySettings)) {
    const value = (config.models.registry as Record<string, unknown>)[key];
    if (value === undefined || value === "") delete env[spec.env];
    else env[spec.env] = String(value);
  }
  // The salt as this process resolved it (from its setting or file); none: training's development salt.
  const salt = pseudonymSaltOf(config.models.pseudonym);
  delete env.FUNNEL_PSEUDONYM_SALT;
  delete env.FUNNEL_PSEUDONYM_SALT_FILE;
  if (salt) env.FUNNEL_PSEUDONYM_SALT = salt;
  const args = [...process.execArgv, cli, "bootstrap", "--model", model, "--alias", alias, "--users", String(own.firstRunUsers), "--epochs", String(own.firstRunEpochs)];
  const code = await new Promise<number | null>((resolve, reject) => {
    // Both of the child's streams to stderr: this process's stdout is its JSON log, one object a line.
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", 2, 2] });
    child.on("error", reject);
    child.on("exit", resolve);
  });
  if (code !== 0) throw new Error(`the first-run training bootstrap failed (exit ${code}); its error is above. \`npm run bootstrap\` runs it alone`);
}
