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

/** Where models come from, how slots load them, and how user ids are pseudonymised. */
export const modelSettings = { registry: registrySettings, slots: slotSettings, pseudonym: pseudonymSettings };

export type ModelConfig = ConfigOf<typeof modelSettings>;
