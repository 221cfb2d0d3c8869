import { spawn } from "node:child_process";
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import lockfile from "proper-lockfile";
import { CorruptRecordError, RegistryLockedError, VersionNotFoundError } from "./errors.js";
import { FileRegistry } from "./file-registry.js";
import { makeModelDir } from "./test-support/make-model-dir.js";

const childScript = fileURLToPath(new URL("./test-support/register-child.ts", import.meta.url));

interface Child {
  waitFor(text: string): Promise<void>;
  exited: Promise<number | null>;
  output(): string;
  kill(): void;
}

function startChild(args: string[]): Child {
  const child = spawn(process.execPath, ["--import", "tsx", childScript, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
    for (const w of waiters.filter((w) => out.includes(w.text))) w.resolve();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    waitFor: (text) =>
      new Promise<void>((resolve, reject) => {
        if (out.includes(text)) return resolve();
        waiters.push({ text, resolve });
        void exited.then((code) => reject(new Error(`child exited (${code}) before printing "${text}": ${out}${err}`)));
      }),
    exited,
    output: () => out + err,
    kill: () => child.kill("SIGKILL"),
  };
}

describe("FileRegistry on disk", () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), "file-registry-"));
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  it("survives a registration SIGKILLed mid-copy: no partial version, readable, stale lock recovered", async () => {
    const dataDir = path.join(work, "crash");
    const registry = new FileRegistry({ dataDir, actor: "test", lockStaleMs: 2000 });
    await registry.register((await makeModelDir({ name: "crashy", parent: work })).dir);
    const big = await makeModelDir({ name: "crashy", parent: work, towerBytes: 8 * 1024 * 1024 });

    const child = startChild([dataDir, big.dir, "--pause-mid-copy"]);
    await child.waitFor("copying");
    // While the writer holds the lock, readers still work and do not see the version being written.
    expect((await registry.listVersions("crashy")).map((v) => v.version)).toEqual([1]);
    child.kill();
    expect(await child.exited).toBeNull();

    const modelDir = path.join(dataDir, "models", "crashy");
    const staged = await readdir(path.join(modelDir, ".staging"));
    expect(staged).toHaveLength(1);
    const partial = await stat(path.join(modelDir, ".staging", staged[0]!, "model", "user_tower.onnx"));
    expect(partial.size).toBeLessThan(8 * 1024 * 1024);
    await expect(stat(path.join(modelDir, ".lock"))).resolves.toBeDefined();

    expect((await registry.listVersions("crashy")).map((v) => v.version)).toEqual([1]);
    await expect(registry.getVersion("crashy", 2)).rejects.toThrow(VersionNotFoundError);
    expect((await registry.listModels()).map((m) => [m.name, m.latestVersion])).toEqual([["crashy", 1]]);

    const again = await registry.register(big.dir);
    expect(again.version).toBe(2);
    expect(await readdir(path.join(modelDir, ".staging"))).toEqual([]);
    const dest = path.join(work, "crash-download");
    await registry.download("crashy", 2, dest);
    // Buffer.equals: a deep toEqual over 8 MB compares element by element and takes minutes.
    const copied = await readFile(path.join(dest, "user_tower.onnx"));
    expect(copied.equals(await readFile(path.join(big.dir, "user_tower.onnx")))).toBe(true);
  });

  it("gives registrations from separate processes distinct version numbers", async () => {
    const dataDir = path.join(work, "processes");
    const dirs = await Promise.all([0, 1, 2].map(() => makeModelDir({ name: "parallel", parent: work })));
    const children = dirs.map(({ dir }) => startChild([dataDir, dir]));
    const codes = await Promise.all(children.map((c) => c.exited));
    expect(codes, children.map((c) => c.output()).join("\n")).toEqual([0, 0, 0]);
    const numbers = children.map((c) => (JSON.parse(c.output().trim()) as { version: number }).version);
    expect([...numbers].sort()).toEqual([1, 2, 3]);
    const registry = new FileRegistry({ dataDir, actor: "test" });
    for (const [i, n] of numbers.entries()) {
      expect((await registry.getVersion("parallel", n)).manifest.lineage.dataFingerprint).toBe(dirs[i]!.manifest.lineage.dataFingerprint);
    }
  });

  it("treats a torn last audit line as never written, and reports a corrupt line with file and line number", async () => {
    const dataDir = path.join(work, "audit");
    const registry = new FileRegistry({ dataDir, actor: "test" });
    await registry.register((await makeModelDir({ name: "audited", parent: work })).dir);
    await registry.register((await makeModelDir({ name: "audited", parent: work })).dir);
    await registry.setAlias("audited", "production", 1);
    await registry.setAlias("audited", "production", 2);
    const audit = path.join(dataDir, "models", "audited", "audit.jsonl");
    await appendFile(audit, '{"model":"audited","alias":"produc');
    expect((await registry.aliasHistory("audited")).map((e) => e.newVersion)).toEqual([2 - 1, 2]);
    await registry.setAlias("audited", "production", 1);
    const lines = (await readFile(audit, "utf8")).split("\n").filter(Boolean);
    expect(lines.map((l) => (JSON.parse(l) as { newVersion: number }).newVersion)).toEqual([1, 2, 1]);

    await writeFile(audit, `${lines[0]}\nnot json\n${lines[1]}\n`);
    const err = await registry.aliasHistory("audited").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptRecordError);
    expect((err as Error).message).toContain(`${audit}:2`);
  });

  it("refuses a stored manifest that was edited after registration", async () => {
    const dataDir = path.join(work, "manifest");
    const registry = new FileRegistry({ dataDir, actor: "test" });
    const v = await registry.register((await makeModelDir({ name: "edited", parent: work, metrics: { recallAt10: 0.1 } })).dir);
    const manifestPath = path.join(v.source, "manifest.json");
    const text = await readFile(manifestPath, "utf8");
    await writeFile(manifestPath, text.replace('"recallAt10": 0.1', '"recallAt10": 0.9'));
    await expect(registry.getVersion("edited", 1)).rejects.toThrow(/manifest\.json/);
  });

  it("gives up with RegistryLockedError when a live writer holds the lock too long", async () => {
    const dataDir = path.join(work, "locked");
    const registry = new FileRegistry({ dataDir, actor: "test", lockTimeoutMs: 300 });
    await registry.register((await makeModelDir({ name: "busy", parent: work })).dir);
    const modelDir = path.join(dataDir, "models", "busy");
    // A live holder keeps refreshing the lock, so it never goes stale.
    const release = await lockfile.lock(modelDir, { lockfilePath: path.join(modelDir, ".lock"), realpath: false });
    try {
      const err = await registry.setAlias("busy", "production", 1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RegistryLockedError);
      expect((err as Error).message).toContain(path.join(modelDir, ".lock"));
      expect(await registry.getAliases("busy")).toEqual({});
    } finally {
      await release();
    }
    await registry.setAlias("busy", "production", 1);
    expect(await registry.getAliases("busy")).toEqual({ production: 1 });
  });
});
