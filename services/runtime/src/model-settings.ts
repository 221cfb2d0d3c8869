// Settings of the models a process serves, read once per process (the model slots are shared by its modules):
// where versions come from (the registry's own settings group), where they are unpacked, how often a
// followed alias is re-read, and the salt of the user-id pseudonyms stored in them.
import { registrySettings } from "@funnel/registry";
import { secretValue, setting, type ConfigOf } from "@funnel/settings";

export { registrySettings };

/** How user ids are pseudonymised before they reach a model: serving must use the salt training used. */
export const pseudonymSettings = {
  salt: setting.secret({
    env: "FUNNEL_PSEUDONYM_SALT",
    flag: "--pseudonym-salt",
    description: "Salt for user-id pseudonyms; must be the one the served model was trained with. Empty: the development salt (generated data only).",
  }),
  saltFile: setting.text({
    env: "FUNNEL_PSEUDONYM_SALT_FILE",
    flag: "--pseudonym-salt-file",
    default: "",
    allowEmpty: true,
    description: "File holding the pseudonym salt (a mounted Secret), instead of FUNNEL_PSEUDONYM_SALT.",
  }),
};

/** The configured pseudonym salt (from the setting or its file), "" when none is configured. */
export function pseudonymSaltOf(config: ConfigOf<typeof pseudonymSettings>): string {
  return secretValue({ value: config.salt, file: config.saltFile }, { value: pseudonymSettings.salt, file: pseudonymSettings.saltFile });
}

/** How model slots load versions. */
export const slotSettings = {
  cacheDir: setting.text({
    env: "FUNNEL_MODEL_CACHE_DIR",
    flag: "--model-cache-dir",
    default: ".data/model-cache",
    description: "Where served model versions are downloaded and verified before loading.",
  }),
  pollMs: setting.integer({
    env: "FUNNEL_MODEL_POLL_MS",
    flag: "--model-poll-ms",
    default: 2_000,
    min: 0,
    max: 3_600_000,
    description: "How often a followed alias (e.g. production) is re-read to pick up a new version; 0 stops watching.",
  }),
};

/**
 * How served versions profile the features they encode (see README "Monitoring: drift"). One group per
 * process, not one per service: every service that encodes rows for a version counts them into that version's
 * one rolling profile, so they must agree on its window.
 */
export const driftSettings = {
  window: setting.integer({
    env: "FUNNEL_DRIFT_WINDOW",
    flag: "--drift-window",
    default: 10_000,
    min: 0,
    max: 10_000_000,
    description: "Feature rows in each served version's rolling drift profile (compared with its training profile by PSI); 0 turns profiling off.",
  }),
  minObservations: setting.integer({
    env: "FUNNEL_DRIFT_MIN_OBSERVATIONS",
    flag: "--drift-min-observations",
    default: 100,
    min: 1,
    max: 10_000_000,
    description: "Fewest live counts of a feature before its PSI is reported (fewer is noise).",
  }),
};

export type DriftConfig = ConfigOf<typeof driftSettings>;

/** Where models come from, how slots load them, how user ids are pseudonymised, and how their inputs are profiled. */
export const modelSettings = { registry: registrySettings, slots: slotSettings, pseudonym: pseudonymSettings, drift: driftSettings };

export type ModelConfig = ConfigOf<typeof modelSettings>;
