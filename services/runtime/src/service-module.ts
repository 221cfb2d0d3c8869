// How a service plugs into a process: its own settings plus a register function. The same module runs alone
// (its own entry point, one Deployment in Kubernetes) or with the others in one process (embedded mode).
import type { Logger } from "pino";
import { loadConfig, formatConfigHelp, servingSettings, ConfigError, type ConfigOf, type SettingsSpec } from "./config.js";
import { createLogger } from "./logger.js";
import type { ModelSource } from "./model-slot.js";
import { ModelHub, modelSettings, type ModelConfig } from "./model-hub.js";
import { modelStatusHandlers } from "./model-status-service.js";
import { ServingServer, exitOnSignals } from "./serving-server.js";
import { ModelStatusServiceService } from "@funnel/proto";

export interface ServiceModule<S extends SettingsSpec = SettingsSpec> {
  /** Short name for logs, e.g. "sentiment". */
  readonly name: string;
  readonly settings: S;
  /**
   * Adds the service's handlers to the server (before it starts) and returns its model loader. The loader
   * runs once the port is bound, so health answers NOT_SERVING while models load; it calls
   * server.setReady(...) when done, or throws to stop start-up.
   */
  register(server: ServingServer, config: ConfigOf<S>, log: Logger, shared: SharedResources): () => Promise<void>;
}

/** What the modules of one process share. */
export interface SharedResources {
  /** Model slots, one per (model, ref, kind) in the process; closed on shutdown. */
  models: ModelHub;
}

export interface RunningServices {
  server: ServingServer;
  port: number;
  metricsPort: number | undefined;
  log: Logger;
  models: ModelHub;
  /** Graceful shutdown of the server, then every module's close and the model slots. */
  shutdown(): Promise<void>;
}

/**
 * Starts the given services on one gRPC server. Settings come from env and argv (`--help` lists them);
 * a bad setting stops start-up with a message naming it. With `handleSignals`, SIGTERM drains and exits.
 */
export async function runServices(
  modules: ServiceModule<any>[],
  source: {
    env: Record<string, string | undefined>;
    argv: readonly string[];
    handleSignals?: boolean;
    /** Where model slots load versions from; the configured registry when absent. */
    modelSource?: ModelSource;
  },
): Promise<RunningServices> {
  const spec: SettingsSpec = Object.assign({}, servingSettings, modelSettings, ...modules.map((m) => m.settings));
  if (source.argv.includes("--help")) {
    process.stdout.write(`Settings (flag, env var, default):\n${formatConfigHelp(spec)}\n`);
    process.exit(0);
  }
  const config = loadConfig(spec, source) as ConfigOf<typeof servingSettings> & Record<string, unknown>;
  const log = createLogger(config.logLevel, "funnel");
  const server = new ServingServer({ config, log });
  const models = new ModelHub({ config: config as unknown as ModelConfig, log: log.child({ component: "models" }), registry: server.metrics.registry, source: source.modelSource });
  const shutdown = async () => {
    await server.shutdown();
    await models.close();
  };
  if (source.handleSignals) exitOnSignals([{ shutdown }], log);
  const loaders = modules.map((module) => module.register(server, config as never, log.child({ service: module.name }), { models }));
  server.setReady(server.addService(ModelStatusServiceService, modelStatusHandlers(models)), true);
  const ports = await server.start();
  try {
    await Promise.all(loaders.map((load) => load()));
  } catch (error) {
    await shutdown();
    throw error;
  }
  return { server, port: ports.port, metricsPort: ports.metricsPort, log, models, shutdown };
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
