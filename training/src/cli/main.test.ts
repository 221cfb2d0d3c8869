import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDataset, loadEvents } from "../data/index.js";

const run = promisify(execFile);
const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Runs the real CLI entry point the package scripts use. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run("npx", ["tsx", "src/cli/main.ts", ...args], { cwd: packageDir });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("funnel-training CLI", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "two-tower-cli-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("gen-data writes the generator's events and an item attribute table", async () => {
    const out = path.join(dir, "events.csv");
    const result = await cli(["gen-data", "--users", "30", "--seed", "5", "--out", out]);
    expect(result.code).toBe(0);
    const expected = generateDataset({ users: 30, seed: 5 });
    const loaded = await loadEvents([out], { strict: true });
    expect(loaded.events).toHaveLength(expected.events.length);
    expect(loaded.events[0]!.userId).toBe(expected.events[0]!.userId);
    const items = (await readFile(path.join(dir, "events.items.csv"), "utf8")).trimEnd().split("\n");
    expect(items[0]).toBe("item_id,category");
    expect(items).toHaveLength(expected.items.length + 1);
  });

  it("train rejects a bad dimension and names the flag's config field", async () => {
    const result = await cli(["train", "--generate", "--users", "20", "--dim", "100", "--out", path.join(dir, "never")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: invalid run flags: model\.dim: dim must be one of 64, 128, 256/);
  });

  it("train without data says what to pass", async () => {
    const result = await cli(["train", "--out", path.join(dir, "never")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--data <file\.\.\.>\) or data\.generate \(--generate/);
  });
});
