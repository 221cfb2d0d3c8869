// `npm run outcomes` end to end: the real CLI entry point on the hand-made log and events, against a real
// file registry holding each version's offline recall@10.
import { execFile } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { FileRegistry, writeModelDirectoryManifest } from "@funnel/registry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENTS_CSV, SALT, servedLogText } from "./testing/hand-made-outcomes.js";

const run = promisify(execFile);
const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
let dir: string;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, FUNNEL_REGISTRY: "file", FUNNEL_REGISTRY_DIR: path.join(dir, "registry"), FUNNEL_PSEUDONYM_SALT: SALT };
  try {
    const { stdout, stderr } = await run("npx", ["tsx", "src/cli/main.ts", "outcomes", ...args], { cwd: packageDir, env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "outcomes-cli-"));
  const registry = new FileRegistry({ dataDir: path.join(dir, "registry"), actor: "test" });
  for (const recall of [0.7, 0.6]) {
    const model = await mkdtemp(path.join(dir, "model-"));
    await writeFile(path.join(model, "metrics.json"), JSON.stringify({ test: { "recall@10": recall } }));
    await writeModelDirectoryManifest(model, { name: "two-tower", kind: "two-tower", metrics: { "recall@10": recall }, params: {}, lineage: { dataFingerprint: "fp", gitCommit: "test", seed: 1, trainingConfig: {} } });
    await registry.register(model);
  }
  await writeFile(path.join(dir, "events.csv"), EVENTS_CSV);
  await mkdir(path.join(dir, "served"));
  await writeFile(path.join(dir, "served", "served-recommendations-2026-11-01.jsonl"), servedLogText());
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("npm run outcomes", () => {
  it("alerts on version 2 (below its offline recall@10 and version 1), exits 1, writes the textfile and the report", async () => {
    const prom = path.join(dir, "funnel_outcomes.prom");
    const html = path.join(dir, "outcomes.html");
    const result = await cli(["--served", path.join(dir, "served", "served-recommendations-2026-11-01.jsonl"), "--events", path.join(dir, "events.csv"), "--min-served", "1", "--prom-out", prom, "--html", html]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.offline).toEqual({ "two-tower@1": 0.7, "two-tower@2": 0.6 });
    expect(report.join.byVersion.map((v: { version: string; hitRate: number }) => [v.version, v.hitRate])).toEqual([
      ["1", 0.8],
      ["2", 0.25],
    ]);
    expect(report.join.excluded).toEqual({ anonymous: 1, no_items: 0, duplicate_request_id: 1, window_not_covered: 1 });
    const alerts = result.stderr.split("\n").filter((l) => l.startsWith("ALERT "));
    expect(alerts).toHaveLength(3);
    expect(alerts.every((a) => a.includes("two-tower version 2"))).toBe(true);
    expect(result.stderr).toContain("served-recommendations-2026-11-01.jsonl:3: not valid JSON");
    expect(result.stderr).toMatch(/events\.csv:15: .*timestamp/);
    const text = await readFile(prom, "utf8");
    expect(text).toContain('funnel_online_hit_rate{model="two-tower",version="2"} 0.25');
    expect(text).toContain('funnel_online_conversion_rate{model="two-tower",version="1"} 0.2');
    expect(text).toMatch(/funnel_online_accuracy_drop\{model="two-tower",version="2",baseline="offline_recall"\} 0\.583/);
    expect(text).toContain('funnel_outcome_join_bad_rows{input="served"} 2');
    expect(await readFile(html, "utf8")).toContain("Online hit rate per day");
  }, 120_000);

  it("exits 0 when every version is within the tolerance", async () => {
    const result = await cli(["--served", path.join(dir, "served", "served-recommendations-2026-11-01.jsonl"), "--events", path.join(dir, "events.csv"), "--min-served", "5"]);
    expect(result.stderr).not.toContain("ALERT");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).comparison.skipped).toHaveLength(1);
  }, 120_000);

  it("reads per-pod directories and an events directory, skips days before --served-since, pushes to a Pushgateway", async () => {
    // The Kubernetes layout: one subdirectory per Recommendation pod; an old day that must not be read (its
    // lines are not JSON, so reading it would show as bad rows); the item table beside the events.
    const served = path.join(dir, "served-by-pod");
    await mkdir(path.join(served, "funnel-recommendation-a"), { recursive: true });
    await mkdir(path.join(served, "funnel-recommendation-b"), { recursive: true });
    await writeFile(path.join(served, "funnel-recommendation-a", "served-recommendations-2026-11-01.jsonl"), servedLogText());
    await writeFile(path.join(served, "funnel-recommendation-b", "served-recommendations-2026-10-01.jsonl"), "old and not JSON\n");
    const events = path.join(dir, "events-dir");
    await mkdir(events);
    await writeFile(path.join(events, "events.csv"), EVENTS_CSV);
    await writeFile(path.join(events, "catalogue.items.csv"), "item_id,category\nx,y\n");
    // A stand-in Pushgateway: the real protocol is one HTTP PUT of the text format per group.
    const pushes: { method: string; url: string; body: string }[] = [];
    const gateway = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        pushes.push({ method: req.method ?? "", url: req.url ?? "", body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
      const result = await cli(["--served", served, "--served-since", "2026-11-01T00:00:00Z", "--events", events, "--min-served", "1", "--push-gateway", url, "--push-group", "namespace=test"]);
      expect(result.code).toBe(1);
      const report = JSON.parse(result.stdout);
      expect(report.servedReport.files).toEqual([path.join(served, "funnel-recommendation-a", "served-recommendations-2026-11-01.jsonl")]);
      expect(report.eventsReport.files).toEqual([path.join(events, "events.csv")]);
      expect(report.join.byVersion.map((v: { version: string; hitRate: number }) => [v.version, v.hitRate])).toEqual([
        ["1", 0.8],
        ["2", 0.25],
      ]);
      expect(pushes).toHaveLength(1);
      expect(pushes[0]?.method).toBe("PUT");
      expect(pushes[0]?.url).toBe("/metrics/job/funnel-outcomes/namespace/test");
      expect(pushes[0]?.body).toContain('funnel_online_hit_rate{model="two-tower",version="2"} 0.25');
      expect(pushes[0]?.body).toMatch(/funnel_outcome_join_timestamp_seconds \d+/);
      expect(pushes[0]?.body).toContain('funnel_outcome_join_bad_rows{input="served"} 2');
    } finally {
      await new Promise((resolve) => gateway.close(resolve));
    }
  }, 120_000);

  it("refuses a served directory with no log file in the window", async () => {
    const empty = path.join(dir, "served-empty");
    await mkdir(path.join(empty, "pod"), { recursive: true });
    const result = await cli(["--served", empty, "--events", path.join(dir, "events.csv")]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("holds no served-recommendations-<day>.jsonl files");
  }, 120_000);
});
