// The runtime's settings: what every serving process has. The setting builders and the loader live in
// @funnel/settings (no dependencies) so that the registry, which must not depend on the runtime, declares its
// settings the same way; they are re-exported here for services.
import { setting, type ConfigOf } from "@funnel/settings";

export { setting, loadConfig, formatConfigHelp, distinctSettings, undeclaredEnv, isSettingSpec, ConfigError, secretValue } from "@funnel/settings";
export type { ConfigOf, ConfigSource, SettingSpec, SettingsSpec } from "@funnel/settings";

/** Settings every serving process has; runServices passes them to each module's register beside its own. */
export const servingSettings = {
  host: setting.text({
    env: "FUNNEL_HOST",
    flag: "--host",
    default: "127.0.0.1",
    description: "Address the gRPC server binds to; 0.0.0.0 in containers.",
  }),
  port: setting.integer({
    env: "FUNNEL_PORT",
    flag: "--port",
    default: 50051,
    min: 0,
    max: 65535,
    description: "gRPC port; 0 picks a free port (printed at start).",
  }),
  metricsPort: setting.integer({
    env: "FUNNEL_METRICS_PORT",
    flag: "--metrics-port",
    default: 9464,
    min: -1,
    max: 65535,
    description: "HTTP port for Prometheus /metrics; 0 picks a free port, -1 disables.",
  }),
  logLevel: setting.oneOf({
    env: "FUNNEL_LOG_LEVEL",
    flag: "--log-level",
    default: "info",
    values: ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const,
    description: "Minimum level of the JSON logs written to stdout.",
  }),
  maxMessageBytes: setting.integer({
    env: "FUNNEL_MAX_MESSAGE_BYTES",
    flag: "--max-message-bytes",
    default: 4 * 1024 * 1024,
    min: 1024,
    max: 256 * 1024 * 1024,
    description: "Largest request message accepted; bigger ones get RESOURCE_EXHAUSTED.",
  }),
  shutdownGraceMs: setting.integer({
    env: "FUNNEL_SHUTDOWN_GRACE_MS",
    flag: "--shutdown-grace-ms",
    default: 10_000,
    min: 0,
    max: 600_000,
    description: "On SIGTERM, how long in-flight calls may finish before they are cancelled.",
  }),
  // Clients resolve a headless Service's pod addresses only when a connection closes (grpc-js re-resolves
  // DNS on a dropped connection, never on a timer), so without an age limit pods added by a scale-out
  // would never get traffic from clients that were already connected.
  maxConnectionAgeMs: setting.integer({
    env: "FUNNEL_MAX_CONNECTION_AGE_MS",
    flag: "--max-connection-age-ms",
    default: 60_000,
    min: 0,
    max: 86_400_000,
    description:
      "A client connection older than this gets GOAWAY (grpc-js adds ±10 % jitter) and reconnects, re-resolving the server's name: new replicas get traffic within this age. 0 keeps connections forever.",
  }),
  maxConnectionAgeGraceMs: setting.integer({
    env: "FUNNEL_MAX_CONNECTION_AGE_GRACE_MS",
    flag: "--max-connection-age-grace-ms",
    default: 30_000,
    min: 0,
    max: 600_000,
    description: "After a connection's GOAWAY for its age, how long its in-flight calls may finish before it is closed.",
  }),
};

export type ServingConfig = ConfigOf<typeof servingSettings>;
