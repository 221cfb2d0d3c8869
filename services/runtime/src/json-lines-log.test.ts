import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JsonLinesLog, type JsonLinesLogOptions } from "./json-lines-log.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "json-lines-log-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const silent = pino({ level: "silent" });
const log = (options: Partial<JsonLinesLogOptions> = {}) =>
  new JsonLinesLog<{ n: number }>({ name: "served", dir, sampleRate: 1, maxQueue: 100, maxFileBytes: 1 << 20, registry: new Registry(), log: silent, ...options });
const lines = async (file: string) => (await readFile(path.join(dir, file), "utf8")).trimEnd().split("\n").map((l) => JSON.parse(l) as { n: number });

describe("JsonLinesLog", () => {
  it("writes offered records as JSON lines to the day's file, in order", async () => {
    const day = new Date("2026-12-01T10:00:00Z");
    const l = log({ now: () => day });
    for (let n = 0; n < 5; n++) l.offer(() => ({ n }));
    await l.flush();
    expect(await readdir(dir)).toEqual(["served-2026-12-01.jsonl"]);
    expect((await lines("served-2026-12-01.jsonl")).map((r) => r.n)).toEqual([0, 1, 2, 3, 4]);
    expect(l.results).toMatchObject({ written: 5, dropped_queue_full: 0 });
  });

  it("never waits when the queue is full: the record is dropped and counted in the metric", async () => {
    const registry = new Registry();
    const l = log({ maxQueue: 3, registry });
    // All ten offers happen before the writer takes anything off the queue.
    for (let n = 0; n < 10; n++) l.offer(() => ({ n }));
    await l.close();
    expect(l.results).toMatchObject({ written: 3, dropped_queue_full: 7 });
    const [file] = await readdir(dir);
    expect((await lines(file!)).map((r) => r.n)).toEqual([0, 1, 2]);
    const text = await registry.metrics();
    expect(text).toContain('funnel_log_records_total{log="served",result="dropped_queue_full"} 7');
    expect(text).toContain('funnel_log_records_total{log="served",result="written"} 3');
  });

  it("keeps the sampled share and never builds a record it does not keep", async () => {
    const coins = [0.05, 0.5, 0.09, 0.95];
    let built = 0;
    const l = log({ sampleRate: 0.1, random: () => coins.shift()! });
    for (let n = 0; n < 4; n++)
      l.offer(() => {
        built++;
        return { n };
      });
    await l.flush();
    expect(built).toBe(2);
    expect(l.results).toMatchObject({ written: 2, sampled_out: 2 });
  });

  it("rotates by size and by UTC day, and after a restart appends to the day's last file", async () => {
    let now = new Date("2026-12-01T23:59:00Z");
    const record = { n: 0 };
    const bytes = `${JSON.stringify(record)}\n`.length;
    const l = log({ now: () => now, maxFileBytes: bytes * 2, maxBatch: 1 });
    for (let i = 0; i < 5; i++) l.offer(() => record);
    await l.flush();
    now = new Date("2026-12-02T00:00:01Z");
    l.offer(() => record);
    await l.flush();
    expect((await readdir(dir)).sort()).toEqual(["served-2026-12-01.1.jsonl", "served-2026-12-01.2.jsonl", "served-2026-12-01.jsonl", "served-2026-12-02.jsonl"]);
    expect(await lines("served-2026-12-01.2.jsonl")).toHaveLength(1);
    const restarted = log({ now: () => new Date("2026-12-01T23:59:30Z"), maxFileBytes: bytes * 2 });
    restarted.offer(() => record);
    await restarted.close();
    expect(await lines("served-2026-12-01.2.jsonl")).toHaveLength(2);
  });

  it("counts records whose write failed and keeps serving", async () => {
    const blocked = path.join(dir, "not-a-dir");
    await writeFile(blocked, "a file where the log directory should be");
    const l = log({ dir: blocked });
    l.offer(() => ({ n: 1 }));
    await l.close();
    expect(l.results).toMatchObject({ written: 0, write_failed: 1 });
    l.offer(() => ({ n: 2 }));
    expect(l.results.dropped_queue_full).toBe(1);
  });
});
