// A secret comes from its own setting (env) or from a `*_FILE` setting naming a file (a mounted Kubernetes
// Secret), never both. Errors name the settings, never the value.
import { readFileSync } from "node:fs";
import { ConfigError, type SettingSpec } from "./setting.js";

type Named = Pick<SettingSpec<string>, "env" | "flag">;

/**
 * The secret's value: the file's content (one trailing newline removed, as `echo` and `kubectl create
 * secret --from-file` leave one) when `file` is set, else `value`; "" when neither is set.
 */
export function secretValue(
  given: { value: string; file: string },
  settings: { value: Named; file: Named },
): string {
  if (given.value !== "" && given.file !== "") {
    throw new ConfigError(`${settings.value.env} and ${settings.file.env} are both set; set only one (the file form keeps the secret out of the environment)`);
  }
  if (given.file === "") return given.value;
  let content: string;
  try {
    content = readFileSync(given.file, "utf8");
  } catch (error) {
    throw new ConfigError(`${settings.file.flag} (env ${settings.file.env}): cannot read ${given.file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); mount the secret there or unset it`);
  }
  const secret = content.replace(/\r?\n$/, "");
  if (secret === "") throw new ConfigError(`${settings.file.flag} (env ${settings.file.env}): ${given.file} is empty`);
  return secret;
}
