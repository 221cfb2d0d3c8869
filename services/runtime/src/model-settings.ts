// Setting groups a model-serving module includes in its own settings (e.g. `settings: { ...own, model:
// modelSettings }`). Shared groups are the same setting objects in every module that includes them, so in
// embedded mode they are read once, listed once in --help, and never count as a duplicate.
import { registrySettings } from "@funnel/registry";
import { setting } from "@funnel/settings";

export { registrySettings };

/** How user ids are pseudonymised before they reach a model: serving must use the salt training used. */
export const pseudonymSettings = {
  salt: setting.text({
    env: "FUNNEL_PSEUDONYM_SALT",
    flag: "--pseudonym-salt",
    default: "",
    allowEmpty: true,
    description: "Salt for user-id pseudonyms; must be the one the served model was trained with. Empty: the development salt (generated data only).",
  }),
};

/** Where models come from and how ids are pseudonymised: what every model-serving module needs. */
export const modelSettings = { registry: registrySettings, pseudonym: pseudonymSettings };
