// The slot's lifecycle on its own: leases keep a swapped-out version open until the last call releases it,
// a refused version never replaces the serving one, and readiness never drops during a swap. The source is a
// small in-memory registry (the end-to-end test of the embedding service runs the same slot on the real one).
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ModelSlot, type ModelSource } from "./model-slot.js";

class MemorySource implements ModelSource {
  readonly location = "memory";
  alias = 1;
  /** Versions whose download fails (as a checksum mismatch would). */
  readonly corrupt = new Set<number>();
  unreachable = false;
  async resolve(_model: string, ref: number | string) {
    if (this.unreachable) throw new Error("registry unreachable");
    return { version: typeof ref === "number" || /^\d+$/.test(ref) ? Number(ref) : this.alias };
  }
  async download(_model: string, ref: number | string, dest: string) {
    const version = Number(ref);
    if (this.corrupt.has(version)) throw new Error(`checksum mismatch in version ${version}`);
    await mkdir(dest, { recursive: true });
    await writeFile(path.join(dest, "weights"), String(version));
    return { dir: dest, version: { version } };
  }
}

class FakeModel {
  closed = false;
  constructor(readonly version: number) {}
  async close() {
    this.closed = true;
  }
}

let cacheDir: string;
let source: MemorySource;
let slot: ModelSlot<FakeModel>;
const loaded: FakeModel[] = [];

beforeEach(async () => {
  cacheDir = await mkdtemp(path.join(os.tmpdir(), "slot-"));
  source = new MemorySource();
  loaded.length = 0;
  slot = new ModelSlot<FakeModel>({
    name: "m",
    ref: "production",
    source,
    cacheDir,
    pollIntervalMs: 0,
    log: pino({ level: "silent" }),
    load: async (_dir, version) => {
      const model = new FakeModel(version);
      loaded.push(model);
      return model;
    },
  });
});

afterEach(async () => {
  await slot.close();
  await rm(cacheDir, { recursive: true, force: true });
});

describe("ModelSlot", () => {
  it("serves the version the alias names once started, and is ready from then on", async () => {
    const readiness: boolean[] = [];
    slot.onReadyChange((ready) => readiness.push(ready));
    expect(slot.ready).toBe(false);
    await slot.start();
    expect(slot.ready).toBe(true);
    const lease = slot.acquire();
    expect(lease.version).toBe(1);
    lease.release();
    source.alias = 2;
    await slot.refresh();
    expect(slot.acquire().version).toBe(2);
    // The swap did not pass through "not ready".
    expect(readiness).toEqual([true]);
  });

  it("keeps a swapped-out version open until the last lease on it is released", async () => {
    await slot.start();
    const inFlight = slot.acquire();
    source.alias = 2;
    await slot.refresh();
    expect(slot.acquire().version).toBe(2);
    expect(loaded[0]!.closed).toBe(false);
    inFlight.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(loaded[0]!.closed).toBe(true);
    expect(loaded[1]!.closed).toBe(false);
  });

  it("refuses a version that fails to download and keeps serving the current one, recording why", async () => {
    await slot.start();
    source.corrupt.add(2);
    source.alias = 2;
    await slot.refresh();
    expect(slot.acquire().version).toBe(1);
    expect(slot.status()).toMatchObject({ version: 1, failedLoads: 1, lastError: { version: 2, message: "checksum mismatch in version 2" } });
  });

  it("keeps serving when the registry cannot be reached, without counting a refused version", async () => {
    await slot.start();
    source.unreachable = true;
    await slot.refresh();
    expect(slot.acquire().version).toBe(1);
    expect(slot.status()).toMatchObject({ failedLoads: 0, lastError: { version: undefined, message: "registry unreachable" } });
  });

  it("answers NOT_FOUND for a pinned version it does not hold, and accepts the held version or the alias", async () => {
    await slot.start();
    expect(slot.acquire({ version: "1" }).version).toBe(1);
    expect(slot.acquire({ version: "production" }).version).toBe(1);
    expect(() => slot.acquire({ version: "7" })).toThrow(/version "7" is not served here; this server holds version 1/);
  });

  it("fails start when the first version cannot be loaded, naming the reason", async () => {
    source.corrupt.add(1);
    await expect(slot.start()).rejects.toThrow(/m@production could not be loaded: checksum mismatch in version 1/);
  });
});
