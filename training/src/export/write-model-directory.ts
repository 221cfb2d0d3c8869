import { mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { type ModelLineage, type ModelManifest, writeModelDirectoryManifest } from "@funnel/registry";
import {
  type ConversionHead,
  type FeatureProfile,
  type FeatureSpec,
  float32LittleEndian,
  type InteractionStats,
  type ItemNeighboursFile,
  MODEL_FILES,
  MODEL_KIND,
  OPTIONAL_MODEL_FILES,
  type ServedPolicyFile,
} from "@funnel/two-tower";
import type { TwoTowerConfig, TwoTowerWeights } from "../model/two-tower-model.js";
import { buildOnnxTowers } from "./build-onnx-towers.js";

export interface ModelDirectoryContents {
  name: string;
  spec: FeatureSpec;
  config: TwoTowerConfig;
  weights: TwoTowerWeights;
  /** Full metrics (nested), written to metrics.json. */
  metrics: Record<string, unknown>;
  /** Flat headline metrics for the manifest (what the registry compares and promotes on). */
  headlineMetrics: Record<string, number>;
  /** Full parameters, written to params.json; must include `model` (the TwoTowerConfig) for loading. */
  params: Record<string, unknown>;
  headlineParams: Record<string, string | number | boolean>;
  epochs: object[];
  /** Row-major float32 [ids.length, dim]; ids are already pseudonymised. */
  users: { ids: string[]; embeddings: Float32Array };
  items: { ids: string[]; embeddings: Float32Array };
  reportHtml: string;
  lineage: ModelLineage;
  conversionHead?: ConversionHead | undefined;
  interactionStats?: InteractionStats | undefined;
  /** Reference histograms for drift; optional so directories written by older callers stay valid. */
  featureProfile?: FeatureProfile | undefined;
  /** Top-K neighbours per item: the served policy's item-to-item source. */
  itemNeighbours?: ItemNeighboursFile | undefined;
  /** Blend weights of the served policy, fitted on validation. */
  servedPolicy?: ServedPolicyFile | undefined;
}

/**
 * Writes the self-describing model directory that the registry stores and services load, finishing with
 * manifest.json (checksums of every file). Refuses a non-empty directory so files of two runs never mix.
 */
export async function writeModelDirectory(dir: string, c: ModelDirectoryContents): Promise<ModelManifest> {
  const existing = await readdir(dir).catch(() => [] as string[]);
  if (existing.length > 0) throw new Error(`model directory ${dir} is not empty; choose a new --out or remove it first`);
  checkEmbeddings("users", c.users, c.config.dim);
  checkEmbeddings("items", c.items, c.config.dim);
  await mkdir(path.join(dir, "embeddings"), { recursive: true });
  const towers = buildOnnxTowers(c.spec, c.config, c.weights, { model: c.name });
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
  const file = (rel: string): string => path.join(dir, ...rel.split("/"));
  await Promise.all([
    writeFile(file(MODEL_FILES.userTower), towers.user),
    writeFile(file(MODEL_FILES.itemTower), towers.item),
    writeFile(file(MODEL_FILES.featureSpec), json(c.spec)),
    writeFile(file(MODEL_FILES.metrics), json(c.metrics)),
    writeFile(file(MODEL_FILES.params), json(c.params)),
    writeFile(file(MODEL_FILES.epochs), json(c.epochs)),
    writeFile(file(MODEL_FILES.userEmbeddings), float32LittleEndian(c.users.embeddings)),
    writeFile(file(MODEL_FILES.userIds), idLines(c.users.ids)),
    writeFile(file(MODEL_FILES.itemEmbeddings), float32LittleEndian(c.items.embeddings)),
    writeFile(file(MODEL_FILES.itemIds), idLines(c.items.ids)),
    writeFile(file(MODEL_FILES.report), c.reportHtml),
    c.conversionHead && writeFile(file(OPTIONAL_MODEL_FILES.conversionHead), json(c.conversionHead)),
    c.interactionStats && writeFile(file(OPTIONAL_MODEL_FILES.interactionStats), JSON.stringify(c.interactionStats)),
    c.featureProfile && writeFile(file(OPTIONAL_MODEL_FILES.featureProfile), json(c.featureProfile)),
    c.itemNeighbours && writeFile(file(OPTIONAL_MODEL_FILES.itemNeighbours), JSON.stringify(c.itemNeighbours)),
    c.servedPolicy && writeFile(file(OPTIONAL_MODEL_FILES.servedPolicy), json(c.servedPolicy)),
  ]);
  return writeModelDirectoryManifest(dir, {
    name: c.name,
    kind: MODEL_KIND,
    metrics: c.headlineMetrics,
    params: c.headlineParams,
    lineage: c.lineage,
  });
}

function idLines(ids: string[]): string {
  for (const [i, id] of ids.entries()) {
    if (id.length === 0 || /[\r\n]/.test(id)) throw new Error(`embedding id at row ${i} is empty or contains a line break`);
  }
  return ids.length === 0 ? "" : `${ids.join("\n")}\n`;
}

function checkEmbeddings(what: string, e: { ids: string[]; embeddings: Float32Array }, dim: number): void {
  if (e.embeddings.length !== e.ids.length * dim) {
    throw new Error(`${what}: ${e.embeddings.length} values for ${e.ids.length} ids of dim ${dim} (expected ${e.ids.length * dim})`);
  }
}
