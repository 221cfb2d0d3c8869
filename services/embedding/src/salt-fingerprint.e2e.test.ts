// A version records a fingerprint of the pseudonym salt it was trained with (never the salt), and serving
// refuses a version trained under another salt, loudly, instead of answering NOT_FOUND and popularity
// fallbacks with green health. A version with no fingerprint (trained before versions recorded one) serves,
// with a warning.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { FileRegistry } from "@funnel/registry";
import { createLogger, runServices } from "@funnel/runtime";
import { trainTinyModelDirectory } from "@funnel/training/testing";
import { pseudonymSaltFingerprint } from "@funnel/two-tower";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embeddingModule } from "./embedding-module.js";

const TRAINED_WITH = "salt-used-by-training-7f3a";
const OTHER = "a-different-salt-c21b";

let root: string;
let model: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "embedding-salt-"));
  model = path.join(root, "model");
  await trainTinyModelDirectory(model, { seed: 1, salt: TRAINED_WITH });
}, 120_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function start(salt: string, registryDir: string, lines: string[] = []) {
  return runServices([embeddingModule], {
    env: { FUNNEL_PSEUDONYM_SALT: salt },
    argv: ["--port", "0", "--metrics-port", "-1", "--model-cache-dir", path.join(registryDir, "cache"), "--model-poll-ms", "0"],
    log: createLogger("info", "test", { write: (line: string) => lines.push(line) }),
    modelSource: new FileRegistry({ dataDir: registryDir, actor: "test" }),
  });
}

describe("the pseudonym salt fingerprint of a version", () => {
  it("is recorded by training: an HMAC of a fixed label, never the salt", async () => {
    const manifest = await readFile(path.join(model, "manifest.json"), "utf8");
    expect(JSON.parse(manifest).lineage.pseudonymSaltFingerprint).toBe(pseudonymSaltFingerprint(TRAINED_WITH));
    expect(pseudonymSaltFingerprint(TRAINED_WITH)).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(pseudonymSaltFingerprint(OTHER)).not.toBe(pseudonymSaltFingerprint(TRAINED_WITH));
    expect(manifest).not.toContain(TRAINED_WITH);
  });

  it("refuses, at start-up, a version trained with another salt, naming what to fix and neither salt", async () => {
    const registryDir = path.join(root, "registry-refuse");
    const registry = new FileRegistry({ dataDir: registryDir, actor: "test" });
    await registry.register(model);
    await registry.setAlias("two-tower", "production", 1);
    const lines: string[] = [];
    const failure = await start(OTHER, registryDir, lines).catch((error: unknown) => error as Error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(/model version 1 was trained with another pseudonym salt .*Set FUNNEL_PSEUDONYM_SALT/);
    const said = `${(failure as Error).message}\n${lines.join("")}`;
    expect(said).not.toContain(TRAINED_WITH);
    expect(said).not.toContain(OTHER);
    // The right salt serves the same version.
    const running = await start(TRAINED_WITH, registryDir);
    await running.shutdown();
  }, 60_000);

  it("serves a version without a fingerprint, with one warning", async () => {
    const old = path.join(root, "model-old");
    await trainTinyModelDirectory(old, { seed: 2, salt: TRAINED_WITH });
    const manifestFile = path.join(old, "manifest.json");
    const manifest = JSON.parse(await readFile(manifestFile, "utf8"));
    delete manifest.lineage.pseudonymSaltFingerprint;
    await writeFile(manifestFile, JSON.stringify(manifest));
    const registryDir = path.join(root, "registry-old");
    const registry = new FileRegistry({ dataDir: registryDir, actor: "test" });
    await registry.register(old);
    await registry.setAlias("two-tower", "production", 1);
    const lines: string[] = [];
    const running = await start(OTHER, registryDir, lines);
    await running.shutdown();
    expect(lines.filter((line) => line.includes("records no pseudonym salt fingerprint"))).toHaveLength(1);
  }, 120_000);
});
