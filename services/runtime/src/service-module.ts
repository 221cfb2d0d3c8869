// How a service plugs into a process: its own settings plus a register function. The same module runs alone
// (its own entry point, one Deployment in Kubernetes) or with the others in one process (embedded mode).
import type { Logger } from "pino";
import {
  loadConfig,
  formatConfigHelp,
  distinctSettings,
  isSettingSpec,
  servingSettings,
  ConfigError,
  type ConfigOf,
  type ServingConfig,
  type SettingsSpec,
} from "./config.js";
import { ModelStatusServiceService } from "@funnel/proto";
import { createLogger } from "./logger.js";
import { ModelHub } from "./model-hub.js";
import { modelSettings, type ModelConfig } from "./model-settings.js";
import type { ModelSource } from "./model-slot.js";
import { modelStatusHandlers } from "./model-status-service.js";
import { securitySettings, type SecurityConfig } from "./security/security-settings.js";
import { ServingServer, exitOnSignals } from "./serving-server.js";

export interface ServiceModule<S extends SettingsSpec = SettingsSpec> {
  /** Short name for logs, e.g. "sentiment". */
  readonly name: string;
  /**
   * Settings namespace, e.g. "sentiment": every own setting's flag starts with `--sentiment-` and its env var
   * with `FUNNEL_SENTIMENT_`. Nested groups in `settings` are shared groups (e.g. modelSettings) and keep
   * their own names.
   */
  readonly namespace: string;
  readonly settings: S;
  /**
   * Adds the service's handlers to the server (before it starts) and returns its model loader. The loader
   * runs once the port is bound, so health answers NOT_SERVING while models load; it calls
   * server.setReady(...) when done, or throws to stop start-up. `config` holds this module's settings only
   * (no other module's values); `shared` what every module of the process shares.
   */
  register(server: ServingServer, config: ConfigOf<S>, log: Logger, shared: SharedResources): ModuleLoader | ModuleLifecycle;
}

/** Loads the module's models once the port is bound. */
export type ModuleLoader = () => Promise<void>;

/** A loader plus what to release on shutdown, after in-flight calls drained (batchers, clients, files). */
export interface ModuleLifecycle {
  load: ModuleLoader;
  close(): Promise<void>;
}

/** What the modules of one process share. */
export interface SharedResources {
  serving: ServingConfig;
  /** The process's security settings; clients a module makes read the reload interval here. */
  security: SecurityConfig;
  /** Model slots, one per (model, ref, kind) in the process, so embedded services load a version once. */
  models: ModelHub;
}

export interface RunningServices {
  server: ServingServer;
  port: number;
  metricsPort: number | undefined;
  log: Logger;
  models: ModelHub;
  /** Graceful shutdown of the server, then the model slots are released. */
  shutdown(): Promise<void>;
}

export interface RunOptions {
  env: Record<string, string | undefined>;
  argv: readonly string[];
  handleSignals?: boolean;
  /** The process's logger; one writing JSON to stdout at --log-level when absent (tests pass one to read it). */
  log?: Logger;
  /** Where model slots load versions from; the configured registry when absent (tests pass one). */
  modelSource?: ModelSource;
  /** Settings of the process itself, beside the modules' (e.g. the platform's first-run options). */
  settings?: SettingsSpec;
  /**
   * Runs once settings are parsed, before any port is bound (the embedded platform's first run trains and
   * registers a model here). Gets the whole settings tree; throwing stops start-up with its message.
   */
  prepare?: (config: ProcessConfig, log: Logger) => Promise<void>;
}

/** The resolved settings tree of a process. */
export interface ProcessConfig {
  serving: ServingConfig;
  security: SecurityConfig;
  models: ModelConfig;
  process: Record<string, unknown>;
  modules: Record<string, Record<string, unknown>>;
}

/**
 * Starts the given services on one gRPC server. Settings come from env and argv (`--help` lists them);
 * a bad setting stops start-up with a message naming it. With `handleSignals`, SIGTERM drains and exits.
 */
export async function runServices(
  modules: ServiceModule<any>[],
  source: RunOptions,
): Promise<RunningServices> {
  const spec = settingsOf(modules, source.settings);
  if (source.argv.includes("--help")) {
    process.stdout.write(`Settings (flag, env var, default):\n${formatConfigHelp(spec)}\n`);
    process.exit(0);
  }
  // Every FUNNEL_* variable must be one this process reads: a manifest that sets a misspelt or another
  // service's name (FUNNEL_MILVUS_ADRESS) would otherwise run on the default without a word.
  const config = loadConfig(spec, { env: source.env, argv: source.argv, strictEnvPrefix: "FUNNEL_" }) as unknown as ProcessConfig;
  const log = source.log ?? createLogger(config.serving.logLevel, "funnel");
  await source.prepare?.(config, log);
  const server = new ServingServer({ config: config.serving, log, security: config.security });
  const models = new ModelHub({ config: config.models, log: log.child({ component: "models" }), registry: server.metrics.registry, source: source.modelSource });
  const shared: SharedResources = { serving: config.serving, security: config.security, models };
  const lifecycles: ModuleLifecycle[] = modules.map((module) => {
    const registered = module.register(server, config.modules[module.namespace] as never, log.child({ service: module.name }), shared);
    return typeof registered === "function" ? { load: registered, close: async () => undefined } : registered;
  });
  // Order matters: calls drain first, then modules release what those calls used, then the model versions.
  const shutdown = async () => {
    await server.shutdown();
    for (const lifecycle of lifecycles) await lifecycle.close().catch((error: unknown) => log.warn({ err: error }, "closing a module failed"));
    await models.close();
  };
  if (source.handleSignals) exitOnSignals([{ shutdown }], log);
  // Always answers (ready from the start): operators ask it what is loading and why a version was refused.
  server.setReady(server.addService(ModelStatusServiceService, modelStatusHandlers(models)), true);
  const ports = await server.start();
  try {
    await Promise.all(lifecycles.map((lifecycle) => lifecycle.load()));
  } catch (error) {
    await shutdown();
    throw error;
  }
  return { server, port: ports.port, metricsPort: ports.metricsPort, log, models, shutdown };
}

/**
 * The settings tree of a process: the serving settings plus each module's under its namespace. Checks that
 * namespaces are distinct and that each module's own settings carry its prefix; loadConfig then refuses a
 * flag or env var declared by two different settings. Throws ConfigError naming the offender.
 */
export function settingsOf(
  modules: readonly ServiceModule<any>[],
  processSettings: SettingsSpec = {},
): {
  serving: typeof servingSettings;
  security: typeof securitySettings;
  models: typeof modelSettings;
  process: SettingsSpec;
  modules: Record<string, SettingsSpec>;
} {
  const byNamespace: Record<string, SettingsSpec> = {};
  for (const module of modules) {
    const namespace = module.namespace;
    if (!/^[a-z][a-z0-9-]*$/.test(namespace)) throw new ConfigError(`module ${module.name}: settings namespace "${namespace}" must be lower-case letters, digits and dashes`);
    if (Object.hasOwn(byNamespace, namespace)) throw new ConfigError(`two modules use the settings namespace "${namespace}"; each module needs its own`);
    const flagPrefix = `--${namespace}-`;
    const envPrefix = `FUNNEL_${namespace.toUpperCase().replaceAll("-", "_")}_`;
    for (const [key, item] of Object.entries(module.settings as SettingsSpec)) {
      if (!isSettingSpec(item)) continue;
      if (!item.flag.startsWith(flagPrefix) || !item.env.startsWith(envPrefix)) {
        throw new ConfigError(`module ${module.name}: setting ${key} (${item.flag}, ${item.env}) must be namespaced as ${flagPrefix}… and ${envPrefix}…`);
      }
    }
    byNamespace[namespace] = module.settings;
  }
  const spec = { serving: servingSettings, security: securitySettings, models: modelSettings, process: processSettings, modules: byNamespace };
  distinctSettings(spec);
  return spec;
}

/** Entry-point helper: runs the modules with process env/argv, printing config errors without a stack. */
export function main(modules: ServiceModule<any>[], options: Pick<RunOptions, "prepare" | "settings"> = {}): void {
  // npm runs a workspace's script inside the package; relative paths (registry, model cache) must mean the
  // directory the user ran npm from, the same one `npm run train` and `npm run registry` resolve them against.
  if (process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);
  runServices(modules, { env: process.env, argv: process.argv.slice(2), handleSignals: true, ...options }).catch((error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`configuration error: ${error.message}\n`);
    } else {
      process.stderr.write(`start-up failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    process.exit(1);
  });
}
