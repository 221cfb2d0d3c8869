import { CorruptRecordError } from "./errors.js";
import type { AliasEvent } from "./model-registry.js";

const ACTIONS = new Set(["set", "rollback", "delete"]);

function isVersionOrNull(value: unknown): value is number | null {
  return value === null || (typeof value === "number" && Number.isInteger(value) && value > 0);
}

/** Parses one stored audit record; `where` (file:line or tag key) is named in the error so it can be fixed. */
export function parseAliasEvent(text: string, where: string): AliasEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CorruptRecordError(`corrupt audit record at ${where}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const event = raw as Partial<AliasEvent> | null;
  if (
    typeof event !== "object" ||
    event === null ||
    typeof event.model !== "string" ||
    typeof event.alias !== "string" ||
    typeof event.at !== "string" ||
    Number.isNaN(Date.parse(event.at)) ||
    typeof event.action !== "string" ||
    !ACTIONS.has(event.action) ||
    !isVersionOrNull(event.previousVersion) ||
    !isVersionOrNull(event.newVersion) ||
    typeof event.actor !== "string"
  ) {
    throw new CorruptRecordError(
      `corrupt audit record at ${where}: expected {model, alias, at, action: set|rollback|delete, previousVersion, newVersion, actor}, got ${text.slice(0, 200)}`,
    );
  }
  return event as AliasEvent;
}
