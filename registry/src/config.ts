import os from "node:os";
import path from "node:path";
import { InvalidArgumentError } from "./errors.js";
import { FileRegistry } from "./file-registry.js";
import { MlflowRegistry } from "./mlflow-registry.js";
import type { ModelRegistry, RegistryBackend } from "./model-registry.js";

export interface RegistryConfig {
  /** "file" (embedded default, local disk) or "mlflow" (REST API of an MLflow tracking server). */
  backend: RegistryBackend;
  /** File backend: where versions, aliases and the audit trail live. */
  dataDir: string;
  /** MLflow backend: tracking server URL, started with --serve-artifacts. */
  mlflowUrl?: string | undefined;
  /** Recorded in the audit trail for every alias move and registration. */
  actor: string;
}

/** Every setting, its environment variable, default and meaning — declared once. */
export const REGISTRY_SETTINGS = {
  backend: { env: "FUNNEL_REGISTRY", default: "file", help: "registry backend: file | mlflow" },
  dataDir: { env: "FUNNEL_REGISTRY_DIR", default: ".data/registry", help: "file backend data directory (relative to the cwd)" },
  mlflowUrl: { env: "MLFLOW_TRACKING_URI", default: undefined, help: "MLflow tracking server URL, e.g. http://127.0.0.1:5000" },
  actor: { env: "FUNNEL_REGISTRY_ACTOR", default: "<user>@<host>", help: "who is recorded in the audit trail" },
} as const;

function defaultActor(): string {
  let user = "unknown";
  try {
    user = os.userInfo().username;
  } catch {
    // Containers may run as a uid with no passwd entry; the host name still identifies the writer.
  }
  return `${user}@${os.hostname()}`;
}

/** Reads and validates the registry configuration from the environment once. */
export function readRegistryConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): RegistryConfig {
  const backend = env[REGISTRY_SETTINGS.backend.env] || REGISTRY_SETTINGS.backend.default;
  if (backend !== "file" && backend !== "mlflow") {
    throw new InvalidArgumentError(`${REGISTRY_SETTINGS.backend.env}=${backend} is invalid; use "file" or "mlflow"`);
  }
  const mlflowUrl = env[REGISTRY_SETTINGS.mlflowUrl.env] || undefined;
  const config: RegistryConfig = {
    backend,
    dataDir: path.resolve(cwd, env[REGISTRY_SETTINGS.dataDir.env] || REGISTRY_SETTINGS.dataDir.default),
    mlflowUrl,
    actor: env[REGISTRY_SETTINGS.actor.env] || defaultActor(),
  };
  validateRegistryConfig(config);
  return config;
}

function validateRegistryConfig(config: RegistryConfig): void {
  if (config.backend === "mlflow") {
    if (!config.mlflowUrl) {
      throw new InvalidArgumentError(`the mlflow registry backend needs a server URL: set ${REGISTRY_SETTINGS.mlflowUrl.env} (e.g. http://127.0.0.1:5000)`);
    }
    let url: URL;
    try {
      url = new URL(config.mlflowUrl);
    } catch {
      throw new InvalidArgumentError(`${REGISTRY_SETTINGS.mlflowUrl.env}=${config.mlflowUrl} is not a URL; expected e.g. http://127.0.0.1:5000`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new InvalidArgumentError(`${REGISTRY_SETTINGS.mlflowUrl.env}=${config.mlflowUrl} must be an http(s) URL of a tracking server started with --serve-artifacts`);
    }
  }
  if (!config.actor) throw new InvalidArgumentError(`actor must not be empty; set ${REGISTRY_SETTINGS.actor.env}`);
}

export interface RegistryTuning {
  lockStaleMs?: number;
  lockTimeoutMs?: number;
  retries?: number;
  backoffMs?: number;
  timeoutMs?: number;
  readyTimeoutMs?: number;
}

/** Builds the configured backend; callers depend only on the ModelRegistry interface. */
export function registryFromConfig(config: RegistryConfig, tuning: RegistryTuning = {}): ModelRegistry {
  validateRegistryConfig(config);
  if (config.backend === "file") {
    return new FileRegistry({
      dataDir: config.dataDir,
      actor: config.actor,
      ...pick(tuning, ["lockStaleMs", "lockTimeoutMs"]),
    });
  }
  return new MlflowRegistry({
    url: config.mlflowUrl as string,
    actor: config.actor,
    ...pick(tuning, ["retries", "backoffMs", "timeoutMs", "readyTimeoutMs"]),
  });
}

function pick<T extends object, K extends keyof T>(source: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}
