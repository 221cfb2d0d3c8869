// One setting declared once: its env var, its flag, a default, help text and a parser. A bad value stops
// start-up with a ConfigError naming the setting, so a typo never runs with a silent default.

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

/** A setting had a bad value, an unknown flag was given, or two settings claim one flag or env var. */
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

/** A finite decimal number (weights, ratios). */
function number(options: Common<number> & { min?: number; max?: number }): SettingSpec<number> {
  const min = options.min ?? Number.NEGATIVE_INFINITY;
  const max = options.max ?? Number.POSITIVE_INFINITY;
  return {
    ...options,
    type: `number ${min}..${max}`,
    parse(raw) {
      const value = Number(raw.trim());
      if (raw.trim() === "" || !Number.isFinite(value)) throw new Error(`expected a number, got "${raw}"`);
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

/**
 * A secret (a salt, a password, a token). Help text shows no default and a bad value is never echoed; give
 * secrets through env or a `*_FILE` setting (a mounted Secret) rather than a flag, which `ps` shows.
 */
function secret(options: Omit<Common<string>, "default">): SettingSpec<string> {
  return { ...options, default: "", type: "secret", parse: (raw) => raw };
}

/** Builders for setting declarations. */
export const setting = { integer, number, text, oneOf, boolean, secret };

export function isSettingSpec(value: unknown): value is SettingSpec<unknown> {
  return typeof (value as Partial<SettingSpec<unknown>> | undefined)?.parse === "function";
}
