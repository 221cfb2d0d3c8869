import { describe, expect, it } from "vitest";
import { aggregateItemFeatures } from "../features/aggregate-item-features.js";
import { aggregateUserFeatures } from "../features/aggregate-user-features.js";
import { encodeItems, encodeUsers } from "../features/encode-features.js";
import { buildFeatureSpec } from "../features/feature-spec.js";
import type { RawUserFeatures } from "../features/raw-features.js";
import { sampleEvents } from "../testing/sample-events.js";
import { DriftMonitor } from "./drift-monitor.js";
import { buildFeatureProfile, parseFeatureProfile, PREDICTION_NAME } from "./feature-profile.js";
import { populationStabilityIndex } from "./population-stability-index.js";

const DIM = 8;
const data = sampleEvents({ users: 400, seed: 5, items: 60 });
const rawUsers = [...aggregateUserFeatures(data.events, { sequenceLength: 6 }).values()];
const rawItems = [...aggregateItemFeatures(data.events, data.items).values()];
const spec = buildFeatureSpec({ users: rawUsers, items: rawItems }, { sequenceLength: 6 });
const users = encodeUsers(spec, rawUsers);
const items = encodeItems(spec, rawItems);

/** Deterministic stand-in embeddings: what matters here is that serving scores them as training did. */
function vectors(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n * DIM }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233));
}
const userEmbeddings = vectors(users.count, 1);
const itemEmbeddings = vectors(items.count, 2);
const profile = buildFeatureProfile({ spec, users, items, userEmbeddings, itemEmbeddings, dim: DIM });

function monitorOf(windowRows = 100_000): DriftMonitor {
  // Through JSON, as serving reads it from feature-profile.json.
  return DriftMonitor.of(spec, parseFeatureProfile(JSON.parse(JSON.stringify(profile)), spec), itemEmbeddings, DIM, { windowRows, minObservations: 50 });
}

function observeUsers(monitor: DriftMonitor, raw: RawUserFeatures[], embeddings: Float32Array): void {
  raw.forEach((features, row) => {
    monitor.observeUser(monitor.userBins(encodeUsers(spec, [features])), embeddings.subarray(row * DIM, (row + 1) * DIM));
  });
}

describe("feature profile and drift monitor", () => {
  it("profiles every encoded feature and the prediction score, with reference counts of the training rows", () => {
    const names = profile.features.map((f) => f.name);
    expect(names).toEqual([
      "user.sessionCount",
      "user.avgSessionDurationSeconds",
      "user.interactionCount",
      "user.interactionDensity",
      "user.conversionCount",
      "user.conversionRate",
      "user.device",
      "user.historyLength",
      "user.recentPages",
      "user.recentItems",
      "user.attributes",
      "item.avgDurationSeconds",
      "item.itemId",
      "item.page",
      "item.interaction",
      "item.category",
    ]);
    const device = profile.features.find((f) => f.name === "user.device")!;
    expect(device.bins).toEqual(["desktop", "mobile", "tablet", "(unknown)"]);
    expect(device.counts.reduce((a, b) => a + b, 0)).toBe(rawUsers.length);
    // 60 items > 20 token bins: the most frequent training items keep a bin, the rest share "(other)".
    expect(profile.features.find((f) => f.name === "user.recentItems")!.bins).toHaveLength(20 + 3);
    expect(profile.features.find((f) => f.name === "item.itemId")!.bins).toEqual(["(known)", "(unknown)"]);
    expect(profile.prediction!.name).toBe(PREDICTION_NAME);
    expect(profile.prediction!.counts.reduce((a, b) => a + b, 0)).toBe(users.count);
    // Deciles: every numeric bin of a continuous feature holds about a tenth of the rows.
    const duration = profile.features.find((f) => f.name === "user.avgSessionDurationSeconds")!;
    expect(duration.bins).toHaveLength(10);
    for (const c of duration.counts) expect(c / rawUsers.length).toBeCloseTo(0.1, 1);
  });

  it("reports PSI 0 for traffic distributed as training, and the analytic PSI for a shifted feature", () => {
    const same = monitorOf();
    observeUsers(same, rawUsers, userEmbeddings);
    for (const row of rawItems) same.observeItem(same.itemBins(encodeItems(spec, [row])));
    const report = same.report();
    expect(report.available).toBe(true);
    expect(report.observations).toBe(rawUsers.length + rawItems.length);
    for (const f of report.features) expect({ name: f.name, psi: f.psi, available: f.psiAvailable }).toEqual({ name: f.name, psi: 0, available: true });
    expect(report.prediction!.psi).toBe(0);
    expect(report.featurePsiAvailable).toBe(true);
    expect(report.featurePsi).toBe(0);

    // Every user now on a tablet: device shares go from the reference to (0, 0, 1, 0).
    const shifted = monitorOf();
    observeUsers(shifted, rawUsers.map((u) => ({ ...u, device: "tablet" })), userEmbeddings);
    const device = shifted.report().features.find((f) => f.name === "user.device")!;
    const reference = profile.features.find((f) => f.name === "user.device")!.counts;
    expect(device.psi).toBeCloseTo(populationStabilityIndex(reference, [0, 0, 1, 0])!, 12);
    expect(device.psi).toBeGreaterThan(0.25);
    // Untouched features stay at 0; the overall figure is their mean.
    const others = shifted.report().features.filter((f) => f.name !== "user.device" && f.psiAvailable);
    for (const f of others) expect(f.psi).toBe(0);
    expect(shifted.report().featurePsi).toBeCloseTo(device.psi / (others.length + 1), 12);
  });

  it("sees prediction drift when the served vectors move, and withholds PSI below the minimum count", () => {
    const monitor = monitorOf();
    observeUsers(monitor, rawUsers.slice(0, 10), userEmbeddings);
    expect(monitor.report().prediction!.psiAvailable).toBe(false);
    const moved = monitorOf();
    // Scores three times as far from 0 as in training: the same users, a model that answers differently.
    observeUsers(moved, rawUsers, userEmbeddings.map((v) => v * 3));
    expect(moved.report().prediction!.psi).toBeGreaterThan(0.1);
  });

  it("forgets rows older than the window", () => {
    const monitor = monitorOf(400);
    observeUsers(monitor, rawUsers.map((u) => ({ ...u, device: "tablet" })), userEmbeddings);
    expect(monitor.report().features.find((f) => f.name === "user.device")!.psi).toBeGreaterThan(0.25);
    observeUsers(monitor, rawUsers, userEmbeddings);
    const report = monitor.report();
    expect(report.windowRows).toBeLessThanOrEqual(400);
    expect(report.features.find((f) => f.name === "user.device")!.psi).toBeLessThan(0.05);
  });

  it("is unavailable, with the reason, without a usable profile", () => {
    const report = DriftMonitor.unavailable("version 1 has no feature-profile.json").report();
    expect(report).toMatchObject({ available: false, unavailableReason: "version 1 has no feature-profile.json", features: [], observations: 0 });
    expect(() => parseFeatureProfile({ ...profile, format: "funnel-feature-profile/v9" }, spec)).toThrow(/format "funnel-feature-profile\/v9" is not supported/);
    const broken = { ...profile, features: profile.features.filter((f) => f.name !== "user.device") };
    expect(() => parseFeatureProfile(broken, spec)).toThrow(/no histogram of user.device/);
  });
});
