// How a service plugs into a process: its own settings plus a register function. The same module runs alone
// (its own entry point, one Deployment in Kubernetes) or with the others in one process (embedded mode).
import type { Logger } from "pino";
import { loadConfig, formatConfigHelp, servingSettings, ConfigError, type ConfigOf, type SettingsSpec } from "./config.js";
import { createLogger } from "./logger.js";
import { ServingServer, exitOnSignals } from "./serving-server.js";

export interface ServiceModule<S extends SettingsSpec = SettingsSpec> {
  /** Short name for logs, e.g. "sentiment". */
  readonly name: string;
  readonly settings: S;
  /**
   * Adds the service's handlers to the server (before it starts) and returns its model loader. The loader
   * runs once the port is bound, so health answers NOT_SERVING while models load; it calls
   * server.setReady(...) when done, or throws to stop start-up.
   */
  register(server: ServingServer, config: ConfigOf<S>, log: Logger): () => Promise<void>;
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
  const spec: SettingsSpec = Object.assign({}, servingSettings, ...modules.map((m) => m.settings));
  if (source.argv.includes("--help")) {
    process.stdout.write(`Settings (flag, env var, default):\n${formatConfigHelp(spec)}\n`);
    process.exit(0);
  }
  const config = loadConfig(spec, source) as ConfigOf<typeof servingSettings> & Record<string, unknown>;
  const log = createLogger(config.logLevel, "funnel");
  const server = new ServingServer({ config, log });
  if (source.handleSignals) exitOnSignals([server], log);
  const loaders = modules.map((module) => module.register(server, config as never, log.child({ service: module.name })));
  const ports = await server.start();
  try {
    await Promise.all(loaders.map((load) => load()));
  } catch (error) {
    await server.shutdown();
    throw error;
  }
  return { server, port: ports.port, metricsPort: ports.metricsPort, log };
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
