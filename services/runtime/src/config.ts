// Typed configuration, declared once: every setting has an env var, a flag, a default and help text.
// A bad value stops start-up with a ConfigError naming the setting, so a typo never runs with a silent default.

export interface SettingSpec<T> {
  /** Environment variable, e.g. FUNNEL_PORT. */
  readonly env: string;
  /** Command-line flag, e.g. --port. */
  readonly flag: string;
  readonly description: string;
  readonly default: T;
  /** Human-readable type for help text, e.g. "integer 0..65535". */
  readonly type: string;
  /** Returns the value or throws an Error whose message says what is wrong with it. */
  parse(raw: string): T;
}

export type SettingsSpec = Record<string, SettingSpec<unknown>>;
export type ConfigOf<S extends SettingsSpec> = { readonly [K in keyof S]: S[K] extends SettingSpec<infer T> ? T : never };

/** A setting had a bad value, or an unknown flag was given. Start-up stops with this message. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

interface Common<T> {
  env: string;
  flag: string;
  description: string;
  default: T;
}

function integer(options: Common<number> & { min?: number; max?: number }): SettingSpec<number> {
  const min = options.min ?? Number.MIN_SAFE_INTEGER;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  return {
    ...options,
    type: `integer ${min}..${max}`,
    parse(raw) {
      const value = Number(raw.trim());
      if (raw.trim() === "" || !Number.isInteger(value)) throw new Error(`expected an integer, got "${raw}"`);
      if (value < min || value > max) throw new Error(`must be between ${min} and ${max}, got ${value}`);
      return value;
    },
  };
}

function text(options: Common<string> & { allowEmpty?: boolean }): SettingSpec<string> {
  return {
    ...options,
    type: "string",
    parse(raw) {
      if (!options.allowEmpty && raw.trim() === "") throw new Error("must not be empty");
      return raw;
    },
  };
}

function oneOf<const V extends readonly string[]>(options: Common<V[number]> & { values: V }): SettingSpec<V[number]> {
  return {
    ...options,
    type: options.values.join("|"),
    parse(raw) {
      const value = raw.trim();
      if (!options.values.includes(value)) throw new Error(`must be one of ${options.values.join(", ")}, got "${raw}"`);
      return value as V[number];
    },
  };
}

function boolean(options: Common<boolean>): SettingSpec<boolean> {
  return {
    ...options,
    type: "true|false",
    parse(raw) {
      const value = raw.trim().toLowerCase();
      if (["true", "1", "yes"].includes(value)) return true;
      if (["false", "0", "no"].includes(value)) return false;
      throw new Error(`expected true or false, got "${raw}"`);
    },
  };
}

/** Builders for setting declarations. */
export const setting = { integer, text, oneOf, boolean };

export interface ConfigSource {
  env?: Record<string, string | undefined>;
  /** Command-line arguments (without node and script), `--flag value` or `--flag=value`. */
  argv?: readonly string[];
}

/**
 * Resolves every setting: flag beats env beats default. Throws ConfigError naming the setting for a bad
 * value and for an unknown flag (so `--prot 5` does not silently run on the default port).
 */
export function loadConfig<S extends SettingsSpec>(spec: S, source: ConfigSource = {}): ConfigOf<S> {
  const flags = parseFlags(spec, source.argv ?? []);
  const resolved: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(spec)) {
    const fromFlag = flags.get(item.flag);
    const fromEnv = source.env?.[item.env];
    const raw = fromFlag ?? fromEnv;
    if (raw === undefined) {
      resolved[key] = item.default;
      continue;
    }
    try {
      resolved[key] = item.parse(raw);
    } catch (error) {
      const origin = fromFlag !== undefined ? `flag ${item.flag}` : `env ${item.env}`;
      throw new ConfigError(`invalid ${origin} (${key}): ${(error as Error).message}. ${item.description}`);
    }
  }
  return resolved as ConfigOf<S>;
}

function parseFlags(spec: SettingsSpec, argv: readonly string[]): Map<string, string> {
  const known = new Set(Object.values(spec).map((item) => item.flag));
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) throw new ConfigError(`unexpected argument "${arg}"; settings are given as --flag value`);
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    if (!known.has(flag)) {
      throw new ConfigError(`unknown flag ${flag}; known flags: ${[...known].sort().join(", ")}`);
    }
    const value: string | undefined = eq === -1 ? argv[i + 1] : arg.slice(eq + 1);
    if (eq === -1) {
      if (value === undefined || value.startsWith("--")) throw new ConfigError(`flag ${flag} needs a value`);
      i++;
    }
    flags.set(flag, value!);
  }
  return flags;
}

/** Help text listing every setting with flag, env var, type, default and description. */
export function formatConfigHelp(spec: SettingsSpec): string {
  return Object.values(spec)
    .map((item) => `  ${item.flag} <${item.type}>  (env ${item.env}, default ${JSON.stringify(item.default)})\n      ${item.description}`)
    .join("\n");
}

/** Settings every serving process has. Services add their own and pass the merged spec to loadConfig. */
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
};

export type ServingConfig = ConfigOf<typeof servingSettings>;
