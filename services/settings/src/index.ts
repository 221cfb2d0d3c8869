export { setting, ConfigError, isSettingSpec } from "./setting.js";
export type { SettingSpec } from "./setting.js";
export { loadConfig, formatConfigHelp, distinctSettings, undeclaredEnv } from "./load-config.js";
export type { ConfigOf, ConfigSource, SettingsSpec } from "./load-config.js";
export { secretValue } from "./secret-value.js";
