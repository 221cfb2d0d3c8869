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
import { createLogger } from "./logger.js";
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
   * (no other module's values), `serving` the server's.
   */
  register(server: ServingServer, config: ConfigOf<S>, log: Logger, serving: ServingConfig): () => Promise<void>;
}

export interface RunningServices {
  server: ServingServer;
  port: number;
  metricsPort: number | undefined;
  log: Logger;
}

/**
 * Starts the given services on one gRPC server. Settings come from env and argv (`--help` lists them);
 * a bad setting stops start-up with a message naming it. With `handleSignals`, SIGTERM drains and exits.
 */
export async function runServices(
  modules: ServiceModule<any>[],
  source: { env: Record<string, string | undefined>; argv: readonly string[]; handleSignals?: boolean },
): Promise<RunningServices> {
  const spec = settingsOf(modules);
  if (source.argv.includes("--help")) {
    process.stdout.write(`Settings (flag, env var, default):\n${formatConfigHelp(spec)}\n`);
    process.exit(0);
  }
  const { serving, modules: moduleConfigs } = loadConfig(spec, source) as { serving: ServingConfig; modules: Record<string, unknown> };
  const log = createLogger(serving.logLevel, "funnel");
  const server = new ServingServer({ config: serving, log });
  if (source.handleSignals) exitOnSignals([server], log);
  const loaders = modules.map((module) => module.register(server, moduleConfigs[module.namespace] as never, log.child({ service: module.name }), serving));
  const ports = await server.start();
  try {
    await Promise.all(loaders.map((load) => load()));
  } catch (error) {
    await server.shutdown();
    throw error;
  }
  return { server, port: ports.port, metricsPort: ports.metricsPort, log };
}

/**
 * The settings tree of a process: the serving settings plus each module's under its namespace. Checks that
 * namespaces are distinct and that each module's own settings carry its prefix; loadConfig then refuses a
 * flag or env var declared by two different settings. Throws ConfigError naming the offender.
 */
export function settingsOf(modules: readonly ServiceModule<any>[]): { serving: typeof servingSettings; modules: Record<string, SettingsSpec> } {
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
  const spec = { serving: servingSettings, modules: byNamespace };
  distinctSettings(spec);
  return spec;
}

/** Entry-point helper: runs the modules with process env/argv, printing config errors without a stack. */
export function main(modules: ServiceModule<any>[]): void {
  runServices(modules, { env: process.env, argv: process.argv.slice(2), handleSignals: true }).catch((error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`configuration error: ${error.message}\n`);
    } else {
      process.stderr.write(`start-up failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    process.exit(1);
  });
}
