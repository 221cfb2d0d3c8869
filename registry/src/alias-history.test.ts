import { describe, expect, it } from "vitest";
import { aliasesFromHistory, aliasVersionAt, aliasVersionStack, rollbackTarget } from "./alias-history.js";
import { FailedPreconditionError } from "./errors.js";
import type { AliasAction, AliasEvent } from "./model-registry.js";

let clock = Date.parse("2026-01-01T00:00:00Z");
function ev(alias: string, action: AliasAction, previousVersion: number | null, newVersion: number | null): AliasEvent {
  clock += 60_000;
  return { model: "m", alias, at: new Date(clock).toISOString(), action, previousVersion, newVersion, actor: "t" };
}

describe("alias history", () => {
  it("replays the trail into the current aliases", () => {
    const events = [ev("production", "set", null, 1), ev("candidate", "set", null, 2), ev("production", "set", 1, 2), ev("candidate", "delete", 2, null)];
    expect(aliasesFromHistory(events)).toEqual({ production: 2 });
  });

  it("rolls back like a stack: repeated rollbacks go further back, a new promotion starts from there", () => {
    const events = [ev("production", "set", null, 1), ev("production", "set", 1, 2), ev("production", "set", 2, 3), ev("candidate", "set", null, 9)];
    expect(rollbackTarget(events, "m", "production")).toEqual({ from: 3, to: 2 });
    events.push(ev("production", "rollback", 3, 2));
    expect(rollbackTarget(events, "m", "production")).toEqual({ from: 2, to: 1 });
    events.push(ev("production", "set", 2, 4));
    expect(aliasVersionStack(events, "production")).toEqual([1, 2, 4]);
    expect(rollbackTarget(events, "m", "production")).toEqual({ from: 4, to: 2 });
  });

  it("ignores a re-promotion of the same version and forgets history across a delete", () => {
    const events = [ev("p", "set", null, 1), ev("p", "set", 1, 1), ev("p", "set", 1, 2)];
    expect(aliasVersionStack(events, "p")).toEqual([1, 2]);
    events.push(ev("p", "delete", 2, null), ev("p", "set", null, 3));
    expect(() => rollbackTarget(events, "m", "p")).toThrow(/no earlier version/);
    expect(() => rollbackTarget([], "m", "p")).toThrow(FailedPreconditionError);
  });

  it("answers which version an alias pointed to at a given time", () => {
    const a = ev("production", "set", null, 1);
    const b = ev("production", "set", 1, 2);
    const c = ev("production", "delete", 2, null);
    const events = [a, b, c];
    expect(aliasVersionAt(events, "production", new Date(Date.parse(a.at) - 1))).toBeNull();
    expect(aliasVersionAt(events, "production", new Date(a.at))).toBe(1);
    expect(aliasVersionAt(events, "production", new Date(Date.parse(b.at) + 1))).toBe(2);
    expect(aliasVersionAt(events, "production", new Date(Date.parse(c.at) + 1))).toBeNull();
    expect(aliasVersionAt(events, "candidate", new Date(Date.parse(b.at) + 1))).toBeNull();
  });
});
