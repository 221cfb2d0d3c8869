// Offline drift through the real CLI: a tiny real model directory, events drawn like its training data and
// events shifted on purpose (shiftEvents, as gen-data --shift-* does), JSON on stdout and an HTML report with one chart per feature.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../testing/run-cli.js";
import { shiftEvents, writeEvents } from "../data/index.js";
import { tinyModelDataset, trainTinyModelDirectory } from "../testing/tiny-model-directory.js";
import { offlineDrift } from "./run-drift.js";

const cli = runCli;

describe("drift CLI (offline)", () => {
  let dir: string;
  let model: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "drift-cli-"));
    model = path.join(dir, "model");
    await trainTinyModelDirectory(model, { seed: 3, salt: "s" });
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("finds no drift in the data the version was trained on", async () => {
    const data = tinyModelDataset({});
    // 50: the 40 catalogue items are too few for an item PSI (deciles of 4 items are noise); 120 users are not.
    const drift = await offlineDrift(model, { events: data.events, itemAttributes: data.items }, { name: "tiny", version: "1", minObservations: 50, progress: false });
    expect(drift.available).toBe(true);
    expect(drift.features.filter((f) => f.psiAvailable).map((f) => f.name)).toHaveLength(11);
    // The very rows the reference was built from: every user histogram is identical.
    for (const f of drift.features.filter((f) => f.name.startsWith("user."))) expect({ name: f.name, psi: f.psi }).toEqual({ name: f.name, psi: 0 });
    expect(drift.featurePsi).toBe(0);
    // Scores: ONNX here vs tfjs in training, equal to ~1e-6; a user on a bin edge may cross it.
    expect(drift.prediction!.psi).toBeLessThan(0.02);
  });

  it("flags the shifted features of a deliberately shifted events file, with a chart per feature", async () => {
    // Same generator settings as the tiny model's data (users 120, seed 4, items 40), then shifted.
    const events = path.join(dir, "shifted.csv");
    const data = tinyModelDataset({});
    await writeEvents(events, shiftEvents(data.events, { device: { to: "tablet", share: 0.8 }, durationFactor: 4 }));
    const items = path.join(dir, "items.csv");
    await writeFile(items, `item_id,category\n${data.items.map((i) => `${i.itemId},${i.category}`).join("\n")}\n`);
    const report = path.join(dir, "report.html");
    const result = await cli(["drift", "--model", model, "--data", events, "--items", items, "--min-observations", "20", "--report", report, "--no-progress"]);
    expect(result.code, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.thresholds).toEqual({ watch: 0.1, drift: 0.25 });
    const [drift] = json.models;
    expect(drift.drifted).toEqual(expect.arrayContaining(["user.device", "user.avgSessionDurationSeconds", "item.avgDurationSeconds"]));
    // The counts, pages and items were not touched.
    for (const name of ["user.sessionCount", "user.recentPages", "item.category"]) expect(drift.drifted).not.toContain(name);
    const psi = (name: string) => drift.features.find((f: { name: string }) => f.name === name).psi;
    expect(psi("user.sessionCount")).toBeLessThan(0.02);
    const html = await readFile(report, "utf8");
    expect(html.match(/<svg /g)).toHaveLength(drift.features.length + 1);
    expect(html).toContain("user.device: PSI");
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });
});
