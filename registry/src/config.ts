import os from "node:os";
import path from "node:path";
import { ConfigError, loadConfig, secretValue, setting, type ConfigOf } from "@funnel/settings";
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
  /** MLflow over HTTPS: CA bundle and client certificate (PEM) files. */
  mlflowTls?: { caFile?: string; clientCertFile?: string };
  /** MLflow credentials, resolved from env or files; never logged. */
  mlflowCredentials?: { username: string; password: string } | { token: string };
  /** Recorded in the audit trail for every alias move and registration. */
  actor: string;
}

/**
 * The registry's settings, declared with the same builders as every other setting (@funnel/settings, which
 * has no dependencies, so the registry stays independent of the serving runtime). The CLI and training read
 * them from env; the serving runtime includes this group in its settings, so `--help` lists them and flags
 * work too.
 */
export const registrySettings = {
  backend: setting.oneOf({
    env: "FUNNEL_REGISTRY",
    flag: "--registry",
    default: "file",
    values: ["file", "mlflow"] as const,
    description: "Model registry backend: file (a directory on disk) or mlflow (an MLflow tracking server).",
  }),
  dataDir: setting.text({
    env: "FUNNEL_REGISTRY_DIR",
    flag: "--registry-dir",
    default: ".data/registry",
    description: "File registry: data directory (relative to the working directory).",
  }),
  mlflowUrl: setting.text({
    env: "MLFLOW_TRACKING_URI",
    flag: "--mlflow-tracking-uri",
    default: "",
    allowEmpty: true,
    description: "MLflow registry: tracking server URL, e.g. http://127.0.0.1:5000 (started with --serve-artifacts).",
  }),
  // MLflow's own variable names where it has them, so an existing MLflow client setup carries over.
  mlflowCaFile: setting.text({
    env: "MLFLOW_TRACKING_SERVER_CERT_PATH",
    flag: "--mlflow-ca-file",
    default: "",
    allowEmpty: true,
    description: "MLflow over HTTPS: CA bundle (PEM) the server's certificate is verified against; empty: the system CAs.",
  }),
  mlflowClientCertFile: setting.text({
    env: "MLFLOW_TRACKING_CLIENT_CERT_PATH",
    flag: "--mlflow-client-cert-file",
    default: "",
    allowEmpty: true,
    description: "MLflow over HTTPS: client certificate and its private key in one PEM file (mutual TLS).",
  }),
  mlflowUsername: setting.text({
    env: "MLFLOW_TRACKING_USERNAME",
    flag: "--mlflow-username",
    default: "",
    allowEmpty: true,
    description: "MLflow basic-auth user (with MLFLOW_TRACKING_PASSWORD or …_PASSWORD_FILE).",
  }),
  mlflowPassword: setting.secret({
    env: "MLFLOW_TRACKING_PASSWORD",
    flag: "--mlflow-password",
    description: "MLflow basic-auth password; prefer MLFLOW_TRACKING_PASSWORD_FILE.",
  }),
  mlflowPasswordFile: setting.text({
    env: "MLFLOW_TRACKING_PASSWORD_FILE",
    flag: "--mlflow-password-file",
    default: "",
    allowEmpty: true,
    description: "File (a mounted Secret) holding the MLflow basic-auth password.",
  }),
  mlflowToken: setting.secret({
    env: "MLFLOW_TRACKING_TOKEN",
    flag: "--mlflow-token",
    description: "Bearer token for MLflow (or a proxy in front of it); prefer MLFLOW_TRACKING_TOKEN_FILE.",
  }),
  mlflowTokenFile: setting.text({
    env: "MLFLOW_TRACKING_TOKEN_FILE",
    flag: "--mlflow-token-file",
    default: "",
    allowEmpty: true,
    description: "File (a mounted Secret) holding the MLflow bearer token.",
  }),
  actor: setting.text({
    env: "FUNNEL_REGISTRY_ACTOR",
    flag: "--registry-actor",
    default: "",
    allowEmpty: true,
    description: "Who is recorded in the registry's audit trail; empty means <user>@<host>.",
  }),
};

export type RegistrySettingsValues = ConfigOf<typeof registrySettings>;

function defaultActor(): string {
  let user = "unknown";
  try {
    user = os.userInfo().username;
  } catch {
    // Containers may run as a uid with no passwd entry; the host name still identifies the writer.
  }
  return `${user}@${os.hostname()}`;
}

/** Turns loaded registry settings into a validated RegistryConfig (paths resolved against cwd). */
export function registryConfigFrom(values: RegistrySettingsValues, cwd: string = process.cwd()): RegistryConfig {
  const config: RegistryConfig = {
    backend: values.backend,
    dataDir: path.resolve(cwd, values.dataDir),
    mlflowUrl: values.mlflowUrl || undefined,
    actor: values.actor || defaultActor(),
  };
  if (values.backend === "mlflow") {
    if (values.mlflowCaFile || values.mlflowClientCertFile) {
      config.mlflowTls = { caFile: values.mlflowCaFile || undefined, clientCertFile: values.mlflowClientCertFile || undefined };
    }
    config.mlflowCredentials = mlflowCredentialsOf(values);
  }
  validateRegistryConfig(config);
  return config;
}

function mlflowCredentialsOf(values: RegistrySettingsValues): RegistryConfig["mlflowCredentials"] {
  const s = registrySettings;
  const password = secretValue({ value: values.mlflowPassword, file: values.mlflowPasswordFile }, { value: s.mlflowPassword, file: s.mlflowPasswordFile });
  const token = secretValue({ value: values.mlflowToken, file: values.mlflowTokenFile }, { value: s.mlflowToken, file: s.mlflowTokenFile });
  if (token && (values.mlflowUsername || password)) throw new ConfigError(`give MLflow either a token (${s.mlflowToken.env}) or a user and password (${s.mlflowUsername.env}, ${s.mlflowPassword.env}), not both`);
  if (token) return { token };
  if (Boolean(values.mlflowUsername) !== Boolean(password)) throw new ConfigError(`MLflow basic auth needs both ${s.mlflowUsername.env} and ${s.mlflowPassword.env} (or ${s.mlflowPasswordFile.env})`);
  return password ? { username: values.mlflowUsername, password } : undefined;
}

/** Reads and validates the registry configuration from the environment once (CLI, training). */
export function readRegistryConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): RegistryConfig {
  // An empty variable means unset here, as it always has for these variables (`FUNNEL_REGISTRY= npm run ...`).
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ""));
  let values: RegistrySettingsValues;
  try {
    values = loadConfig(registrySettings, { env: set });
    return registryConfigFrom(values, cwd);
  } catch (error) {
    if (error instanceof ConfigError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

function validateRegistryConfig(config: RegistryConfig): void {
  if (config.backend === "mlflow") {
    if (!config.mlflowUrl) {
      throw new InvalidArgumentError(`the mlflow registry backend needs a server URL: set ${registrySettings.mlflowUrl.env} (e.g. http://127.0.0.1:5000)`);
    }
    let url: URL;
    try {
      url = new URL(config.mlflowUrl);
    } catch {
      throw new InvalidArgumentError(`${registrySettings.mlflowUrl.env}=${config.mlflowUrl} is not a URL; expected e.g. http://127.0.0.1:5000`);
    }
    if (url.username || url.password) {
      // The URL is shown in errors and logs; credentials in it would be too.
      throw new InvalidArgumentError(`${registrySettings.mlflowUrl.env} must not carry credentials; set ${registrySettings.mlflowUsername.env} and ${registrySettings.mlflowPasswordFile.env} (or ${registrySettings.mlflowTokenFile.env}) instead`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new InvalidArgumentError(`${registrySettings.mlflowUrl.env}=${config.mlflowUrl} must be an http(s) URL of a tracking server started with --serve-artifacts`);
    }
  }
  if (!config.actor) throw new InvalidArgumentError(`actor must not be empty; set ${registrySettings.actor.env}`);
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
    ...config.mlflowTls,
    ...(config.mlflowCredentials ? { credentials: config.mlflowCredentials } : {}),
    ...pick(tuning, ["retries", "backoffMs", "timeoutMs", "readyTimeoutMs"]),
  });
}

function pick<T extends object, K extends keyof T>(source: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}
