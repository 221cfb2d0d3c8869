import { FailedPreconditionError } from "./errors.js";
import type { AliasEvent } from "./model-registry.js";

/** Replays the audit trail into the current alias → version map. */
export function aliasesFromHistory(events: readonly AliasEvent[]): Record<string, number> {
  const aliases: Record<string, number> = {};
  for (const event of events) {
    if (event.newVersion === null) delete aliases[event.alias];
    else aliases[event.alias] = event.newVersion;
  }
  return aliases;
}

/**
 * The versions an alias has stood on that a rollback can return to, oldest first, ending with the current one.
 * Rollbacks pop, so repeated rollbacks walk further back (3 → 2 → 1) instead of toggling between two versions.
 */
export function aliasVersionStack(events: readonly AliasEvent[], alias: string): number[] {
  const stack: number[] = [];
  for (const event of events) {
    if (event.alias !== alias) continue;
    if (event.action === "delete") {
      stack.length = 0;
    } else if (event.action === "rollback") {
      stack.pop();
      // A rollback recorded by a different tool may not match our stack; trust what it says it moved to.
      if (event.newVersion !== null && stack.at(-1) !== event.newVersion) stack.push(event.newVersion);
    } else if (event.newVersion !== null && stack.at(-1) !== event.newVersion) {
      stack.push(event.newVersion);
    }
  }
  return stack;
}

/** Where `rollback` moves the alias: the version it stood on before the current one. */
export function rollbackTarget(events: readonly AliasEvent[], model: string, alias: string): { from: number; to: number } {
  const stack = aliasVersionStack(events, alias);
  const from = stack.at(-1);
  const to = stack.at(-2);
  if (from === undefined) {
    throw new FailedPreconditionError(`model "${model}" has no alias "${alias}" to roll back`);
  }
  if (to === undefined) {
    throw new FailedPreconditionError(
      `alias "${alias}" of model "${model}" has no earlier version in its audit trail (it is on version ${from}); promote a version explicitly instead`,
    );
  }
  return { from, to };
}

/** Which version `alias` pointed to at time `at` (null if unset then); answers "what was in production when". */
export function aliasVersionAt(events: readonly AliasEvent[], alias: string, at: Date): number | null {
  let version: number | null = null;
  for (const event of events) {
    if (event.alias !== alias) continue;
    if (Date.parse(event.at) > at.getTime()) break;
    version = event.newVersion;
  }
  return version;
}
