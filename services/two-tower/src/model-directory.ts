// The two-tower model directory format: what training writes, the registry stores and services load.
// Kept here (not in training) so serving reads it without loading tfjs.

/** Files of a two-tower model directory, relative to its root (manifest.json is added last). */
export const MODEL_FILES = {
  userTower: "user_tower.onnx",
  itemTower: "item_tower.onnx",
  featureSpec: "feature-spec.json",
  metrics: "metrics.json",
  params: "params.json",
  epochs: "epochs.json",
  userEmbeddings: "embeddings/users.f32",
  userIds: "embeddings/users.ids.txt",
  itemEmbeddings: "embeddings/items.f32",
  itemIds: "embeddings/items.ids.txt",
  report: "report.html",
} as const;

/**
 * Files a two-tower model directory may have: versions trained before they existed load without them and the
 * services that use them say so (GuideNextStep falls back to the page-level base rate).
 */
export const OPTIONAL_MODEL_FILES = {
  /** Conversion head: logistic regression on the user embedding + session context (see conversion-head.ts). */
  conversionHead: "conversion-head.json",
  /** Per-user devices, items and funnel pages, item popularity: what recommendation blends and filters with. */
  interactionStats: "interaction-stats.json",
  /** Reference histograms of the training features and scores, for drift (see drift/feature-profile.ts). */
  featureProfile: "feature-profile.json",
  /** Top-K neighbours per item, fitted on the training events: a candidate source of RecommendItems (served-policy/). */
  itemNeighbours: "item-neighbours.json",
  /** Blend weights of RecommendItems' sources, fitted on validation (served-policy/policy-weights.ts). */
  servedPolicy: "served-policy.json",
} as const;

/** Manifest `kind` of a two-tower model directory. */
export const MODEL_KIND = "two-tower";

/**
 * Name of the single output of both ONNX towers: the embedding [batch, dim], scored by inner product. The
 * "history" model's vectors are not normalised (the user's last coordinate is 1, the item's its bias, so the
 * inner product includes the item bias); the older "mlp" model's are L2-normalised.
 */
export const ONNX_OUTPUT_NAME = "embedding";

/** The file format promises little-endian whatever the host is. */
export function float32LittleEndian(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return out;
}

export function readFloat32LittleEndian(bytes: Uint8Array): Float32Array {
  if (bytes.length % 4 !== 0) throw new RangeError(`float32 file has ${bytes.length} bytes, not a multiple of 4`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float32Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
}
