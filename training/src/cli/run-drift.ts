// `drift`: a model version's reference profile against what it sees — offline, the rows an events file gives
// (for data scientists: "would this data drift against the version in production?"), or online, a running
// server's rolling window through ModelStatusService/GetDrift. Both give the same ModelDrift shape.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { type GetDriftResponse, type ModelDrift, ModelStatusServiceClient } from "@funnel/proto";
import { verifyModelDirectory } from "@funnel/registry";
import { aggregateItemFeatures, aggregateUserFeatures, encodeItems, encodeUsers, MODEL_FILES, parseFeatureSpec, ServedTwoTower } from "@funnel/two-tower";
import { type DriftThresholds, driftVerdict, renderDriftReport } from "../report/index.js";
import type { Dataset } from "./load-dataset.js";
import { progressBar } from "./training-progress.js";

/** Users embedded per ONNX run: bounds memory on big event files. */
const CHUNK = 2048;

/**
 * Drift of the rows an events file gives against the version in `dir`: each user's features aggregated from
 * their events (as training does) and each item's, counted on the version's bins; the users' prediction scores
 * come from the version's own ONNX user tower.
 */
export async function offlineDrift(
  dir: string,
  dataset: Pick<Dataset, "events" | "itemAttributes" | "userAttributes">,
  options: { name: string; version: string; minObservations: number; progress?: boolean },
): Promise<ModelDrift> {
  await verifyModelDirectory(dir);
  const spec = parseFeatureSpec(JSON.parse(await readFile(path.join(dir, MODEL_FILES.featureSpec), "utf8")));
  const attributes = dataset.userAttributes ? { attributes: dataset.userAttributes } : {};
  const rawUsers = [...aggregateUserFeatures(dataset.events, { sequenceLength: spec.sequenceLength, ...attributes }).values()];
  const rawItems = [...aggregateItemFeatures(dataset.events, dataset.itemAttributes).values()];
  // One window holding every row: offline, the whole file is "live".
  const windowRows = Math.max(1, rawUsers.length + rawItems.length);
  const served = await ServedTwoTower.load(dir, Number(options.version) || 0, { drift: { windowRows, segments: 1, minObservations: options.minObservations } });
  try {
    const monitor = served.monitor;
    if (monitor.available) {
      const bar = progressBar("users", rawUsers.length, options.progress ?? true);
      try {
        for (let start = 0; start < rawUsers.length; start += CHUNK) {
          const tensors = encodeUsers(served.spec, rawUsers.slice(start, start + CHUNK));
          const vectors = await served.embedUsers(tensors);
          for (let row = 0; row < tensors.count; row++) monitor.observeUser(monitor.userBins(tensors, row), vectors.subarray(row * served.dim, (row + 1) * served.dim));
          bar.update(start + tensors.count);
        }
      } finally {
        bar.stop();
      }
      const items = encodeItems(served.spec, rawItems);
      for (let row = 0; row < items.count; row++) monitor.observeItem(monitor.itemBins(items, row));
    }
    return { name: options.name, version: options.version, kind: "offline", ...served.drift() };
  } finally {
    await served.close();
  }
}

/** The drift a running server reports (ModelStatusService/GetDrift), optionally of one model. */
export function serverDrift(address: string, model: string, deadlineMs: number): Promise<ModelDrift[]> {
  const client = new ModelStatusServiceClient(address, grpc.credentials.createInsecure());
  return new Promise<GetDriftResponse>((resolve, reject) =>
    client.getDrift({ model }, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (error, response) => {
      client.close();
      if (error) reject(new Error(`GetDrift on ${address} failed: ${error.details || error.message}`));
      else resolve(response!);
    }),
  ).then((r) => r.models);
}

/** The JSON printed to stdout: every model's drift plus a verdict per feature; and the HTML report written. */
export async function writeDriftResult(
  models: ModelDrift[],
  options: { source: string; thresholds: DriftThresholds; report: string },
): Promise<Record<string, unknown>> {
  const report = path.resolve(options.report);
  await mkdir(path.dirname(report), { recursive: true });
  await writeFile(report, renderDriftReport({ title: "Drift report", source: options.source, models, thresholds: options.thresholds }));
  return {
    source: options.source,
    thresholds: options.thresholds,
    report,
    models: models.map((m) => ({
      ...m,
      drifted: m.features.filter((f) => driftVerdict(f, options.thresholds) === "drift").map((f) => f.name),
      watch: m.features.filter((f) => driftVerdict(f, options.thresholds) === "watch").map((f) => f.name),
      ...(m.prediction ? { predictionVerdict: driftVerdict(m.prediction, options.thresholds) } : {}),
    })),
  };
}
