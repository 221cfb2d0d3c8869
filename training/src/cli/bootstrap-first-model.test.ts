// `npm run bootstrap`: trains and registers a first model only when the alias names none, and records the salt
// fingerprint like every training run.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { FileRegistry } from "@funnel/registry";
import { pseudonymSaltFingerprint } from "@funnel/two-tower";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapFirstModel } from "./bootstrap-first-model.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "bootstrap-"));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe("bootstrapFirstModel", () => {
  it("trains, registers and points the alias at a first model, then leaves the registry alone", async () => {
    const registry = new FileRegistry({ dataDir: path.join(root, "registry"), actor: "test" });
    const lines: string[] = [];
    const options = { registry, model: "two-tower", alias: "production", users: 150, epochs: 1, salt: "bootstrap-salt", log: (line: string) => lines.push(line) };
    const first = await bootstrapFirstModel(options);
    expect(first).toMatchObject({ trained: true, version: 1, promoted: true });
    const served = await registry.resolve("two-tower", "production");
    expect(served.version).toBe(1);
    expect(served.manifest.lineage.pseudonymSaltFingerprint).toBe(pseudonymSaltFingerprint("bootstrap-salt"));
    expect(lines.some((line) => /first run: registered two-tower v1 as production/.test(line))).toBe(true);
    expect(await bootstrapFirstModel(options)).toEqual({ trained: false, version: 1 });
    expect((await registry.listVersions("two-tower")).length).toBe(1);
  }, 180_000);
});
