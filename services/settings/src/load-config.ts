// Resolves a tree of settings from flags and env vars. A tree nests groups: a service's own settings, and
// shared groups (the registry's, the serving settings) that several services include. A shared group is the
// same SettingSpec objects, so it is resolved once and listed once; two *different* settings claiming one
// flag or env var is a start-up error, never a silent override.
import { closest, distance } from "fastest-levenshtein";
import { ConfigError, isSettingSpec, type SettingSpec } from "./setting.js";

/** Settings by key; a value is a setting or a nested group of settings. */
export type SettingsSpec = { readonly [key: string]: SettingSpec<unknown> | SettingsSpec };

/** The typed values of a settings tree, nested like the tree. */
export type ConfigOf<S extends SettingsSpec> = {
  readonly [K in keyof S]: S[K] extends SettingSpec<infer T> ? T : S[K] extends SettingsSpec ? ConfigOf<S[K]> : never;
};

export interface ConfigSource {
  env?: Record<string, string | undefined>;
  /**
   * Env vars starting with this prefix (e.g. "FUNNEL_") must each be declared by a setting of the tree: a
   * misspelt or renamed variable in a manifest is a start-up error instead of a silently used default.
   */
  strictEnvPrefix?: string;
  /** Command-line arguments (without node and script), `--flag value` or `--flag=value`. */
  argv?: readonly string[];
}

export interface Leaf {
  path: string[];
  spec: SettingSpec<unknown>;
}

/** Every setting in the tree with its key path, depth first in declaration order. */
function leaves(spec: SettingsSpec, path: string[] = []): Leaf[] {
  return Object.entries(spec).flatMap(([key, item]) => (isSettingSpec(item) ? [{ path: [...path, key], spec: item }] : leaves(item, [...path, key])));
}

/**
 * The distinct settings of a tree (a shared group included twice counts once). Throws ConfigError when two
 * different settings claim the same flag or env var, naming both.
 */
export function distinctSettings(spec: SettingsSpec): Leaf[] {
  const distinct = new Map<SettingSpec<unknown>, Leaf>();
  const owners = new Map<string, Leaf>();
  for (const leaf of leaves(spec)) {
    if (distinct.has(leaf.spec)) continue;
    for (const name of [leaf.spec.flag, leaf.spec.env]) {
      const owner = owners.get(name);
      if (owner) {
        throw new ConfigError(`${name} is declared by two settings, ${owner.path.join(".")} and ${leaf.path.join(".")}; each flag and env var must belong to one setting`);
      }
      owners.set(name, leaf);
    }
    distinct.set(leaf.spec, leaf);
  }
  return [...distinct.values()];
}

/**
 * Resolves every setting: flag beats env beats default. Throws ConfigError naming the setting for a bad
 * value, for an unknown flag (so `--prot 5` does not silently run on the default port) and for a flag or
 * env var declared by two settings.
 */
export function loadConfig<S extends SettingsSpec>(spec: S, source: ConfigSource = {}): ConfigOf<S> {
  const settings = distinctSettings(spec);
  if (source.strictEnvPrefix !== undefined) checkEnvNames(settings, source.env ?? {}, source.strictEnvPrefix);
  const flags = parseFlags(settings, source.argv ?? []);
  const values = new Map<SettingSpec<unknown>, unknown>();
  for (const { path, spec: item } of settings) {
    const fromFlag = flags.get(item.flag);
    const fromEnv = source.env?.[item.env];
    const raw = fromFlag ?? fromEnv;
    if (raw === undefined) {
      values.set(item, item.default);
      continue;
    }
    try {
      values.set(item, item.parse(raw));
    } catch (error) {
      const origin = fromFlag !== undefined ? `flag ${item.flag}` : `env ${item.env}`;
      throw new ConfigError(`invalid ${origin} (${path.at(-1)}): ${(error as Error).message}. ${item.description}`);
    }
  }
  const build = (tree: SettingsSpec): Record<string, unknown> =>
    Object.fromEntries(Object.entries(tree).map(([key, item]) => [key, isSettingSpec(item) ? values.get(item) : build(item)]));
  return build(spec) as ConfigOf<S>;
}

/**
 * The names under `prefix` that no setting of the tree declares, each with the declared env var nearest in
 * spelling (edit distance) when it is close enough to be a misspelling. Used at start-up and by the manifest tests, which check every variable a
 * Kubernetes manifest sets against the process that reads it.
 */
export function undeclaredEnv(spec: SettingsSpec | Leaf[], names: Iterable<string>, prefix: string): { name: string; nearest: string | undefined }[] {
  const known = (Array.isArray(spec) ? spec : distinctSettings(spec)).map((leaf) => leaf.spec.env);
  const declared = new Set(known);
  return [...new Set(names)]
    .filter((name) => name.startsWith(prefix) && !declared.has(name))
    .sort()
    .map((name) => {
      const nearest = known.length > 0 ? closest(name, known) : undefined;
      // A suggestion only when it is plausibly a misspelling: FUNNEL_MILVUS_ADDRESS is not "FUNNEL_CALLER_BURST".
      const close = nearest !== undefined && distance(name, nearest) <= Math.max(2, Math.floor((name.length - prefix.length) / 3));
      return { name, nearest: close ? nearest : undefined };
    });
}

/** Throws ConfigError naming every undeclared env var under `prefix`; names only, never values (a secret may be one). */
function checkEnvNames(settings: Leaf[], env: Record<string, string | undefined>, prefix: string): void {
  const unknown = undeclaredEnv(
    settings,
    Object.keys(env).filter((name) => env[name] !== undefined),
    prefix,
  );
  if (unknown.length === 0) return;
  const many = unknown.length > 1;
  const named = unknown.map(({ name, nearest }) => (nearest ? `${name} (did you mean ${nearest}?)` : name));
  throw new ConfigError(
    `unknown environment variable${many ? "s" : ""} ${named.join(", ")}: no setting of this process reads ${many ? "them" : "it"}; rename or remove ${many ? "them" : "it"} (\`--help\` lists every setting)`,
  );
}

function parseFlags(settings: Leaf[], argv: readonly string[]): Map<string, string> {
  const known = new Set(settings.map((leaf) => leaf.spec.flag));
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

/** Help text listing every distinct setting with flag, env var, type, default and description. */
export function formatConfigHelp(spec: SettingsSpec): string {
  return distinctSettings(spec)
    .map(({ spec: item }) => `  ${item.flag} <${item.type}>  (env ${item.env}, default ${JSON.stringify(item.default)})\n      ${item.description}`)
    .join("\n");
}
