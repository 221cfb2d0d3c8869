import { readFile } from "node:fs/promises";
import path from "node:path";
import { aggregateUserFeatures, type ItemTensors, MODEL_FILES, OnnxTowers, readFloat32LittleEndian, type UserTensors } from "@funnel/two-tower";
import { evaluateModelDirectory, type ModelEvaluation } from "../cli/evaluate-model-directory.js";
import type { Dataset } from "../cli/load-dataset.js";
import { measureServingCost } from "./measure-serving-cost.js";
import { type CandidateMeasures, decideGates, DEFAULT_GATE_THRESHOLDS, featureSpecDifferences, type GateResult, type GateThresholds } from "./retrain-gates.js";

/** The inputs the candidate's stored (tfjs) embeddings were computed from, in stored row order. */
export interface ParityInputs {
  users: UserTensors;
  items: ItemTensors;
}

export interface CheckCandidateOptions {
  /** The fresh window: both versions are scored on its latest `holdout` share of events. */
  dataset: Dataset;
  holdout: number;
  /** null: no production version; the gates that compare are skipped. */
  productionDir: string | null;
  parityInputs: ParityInputs;
  thresholds?: Partial<GateThresholds>;
  breakingChange?: string | undefined;
  /** Rounds of single-user embedding calls timed in the runtime (one call of each version per round). */
  latencyCalls?: number;
  onStep?: (step: string) => void;
}

export interface CandidateCheck {
  passed: boolean;
  gates: GateResult[];
  evaluation: { candidate: ModelEvaluation | { error: string }; production: ModelEvaluation | { error: string } | null };
  thresholds: GateThresholds;
}

/**
 * Measures a candidate model directory against production on the same fresh holdout and decides every gate.
 * Each measurement that throws (a truncated ONNX file, a checksum mismatch) fails its gates with the reason
 * instead of stopping the check, so the report always lists every gate.
 */
export async function checkCandidate(candidateDir: string, options: CheckCandidateOptions): Promise<CandidateCheck> {
  const thresholds = { ...DEFAULT_GATE_THRESHOLDS, ...options.thresholds };
  const step = options.onStep ?? (() => {});
  step("evaluating the candidate on the fresh holdout");
  const candidate = await attempt(() => evaluateModelDirectory(candidateDir, options.dataset, { holdout: options.holdout }));
  step(options.productionDir ? "evaluating production on the same holdout" : "no production version to compare with");
  const production = options.productionDir ? await attempt(() => evaluateModelDirectory(options.productionDir!, options.dataset, { holdout: options.holdout })) : null;
  step("checking ONNX parity");
  const parity = await attempt(() => onnxParity(candidateDir, options.parityInputs));
  const compatibility = options.productionDir ? await attempt(() => compareContracts(candidateDir, options.productionDir!)) : null;
  step(options.productionDir ? "timing candidate and production in the runtime, interleaved" : "timing the candidate in the runtime");
  const servingCost = await attempt(() =>
    measureServingCost(candidateDir, options.productionDir, latencyUsers(options.dataset), { calls: options.latencyCalls ?? DEFAULT_LATENCY_CALLS }),
  );
  const measures: CandidateMeasures = {
    candidateMetrics: "error" in candidate ? candidate : candidate.model,
    productionMetrics: production === null ? null : "error" in production ? production : production.model,
    parity,
    compatibility,
    servingCost,
    breakingChange: options.breakingChange,
  };
  const gates = decideGates(measures, thresholds);
  return { passed: gates.every((g) => g.status !== "fail"), gates, evaluation: { candidate, production }, thresholds };
}

/**
 * Rounds timed per version. A tiny tower answers in ~0.1 ms, so p99 of 300 calls is its 3rd-slowest call and
 * one pause of the process decides it (a candidate/production p99 ratio of 26 was measured for two equal
 * versions); 2,000 rounds cost well under a second there and a few seconds for a 1 ms tower.
 */
export const DEFAULT_LATENCY_CALLS = 2000;
const LATENCY_USERS = 200;

/**
 * Users of the window as raw features (each version encodes them with its own spec, so both are timed on the
 * same requests); the history is kept long because each encoder keeps only its own most recent sequenceLength.
 */
function latencyUsers(dataset: Dataset) {
  const raw = aggregateUserFeatures(dataset.events, { sequenceLength: 256, ...(dataset.userAttributes ? { attributes: dataset.userAttributes } : {}) });
  return [...raw.keys()].sort().slice(0, LATENCY_USERS).map((id) => raw.get(id)!);
}

async function attempt<T>(work: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await work();
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/**
 * Runs the directory's ONNX towers on the inputs its stored embeddings were computed from by tfjs at training
 * time and returns the largest difference: the export reproduces the trained model, or it does not.
 */
export async function onnxParity(dir: string, inputs: ParityInputs): Promise<{ maxAbsDiff: number; values: number }> {
  const towers = await OnnxTowers.load(dir);
  try {
    const [storedUsers, storedItems] = await Promise.all([
      readFile(path.join(dir, MODEL_FILES.userEmbeddings)).then(readFloat32LittleEndian),
      readFile(path.join(dir, MODEL_FILES.itemEmbeddings)).then(readFloat32LittleEndian),
    ]);
    const users = await towers.embedUsers(inputs.users);
    const items = await towers.embedItems(inputs.items);
    if (users.length !== storedUsers.length) throw new Error(`user tower gave ${users.length} values, the stored embeddings have ${storedUsers.length}`);
    if (items.length !== storedItems.length) throw new Error(`item tower gave ${items.length} values, the stored embeddings have ${storedItems.length}`);
    return { maxAbsDiff: Math.max(maxAbsDiff(users, storedUsers), maxAbsDiff(items, storedItems)), values: users.length + items.length };
  } finally {
    await towers.release();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    // NaN compares false with everything: count it as an infinite difference, not as agreement.
    max = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(max, d);
  }
  return max;
}

async function compareContracts(candidateDir: string, productionDir: string): Promise<{ candidateDim: number; productionDim: number; specDifferences: string[] }> {
  const [candidate, production] = await Promise.all([OnnxTowers.load(candidateDir), OnnxTowers.load(productionDir)]);
  try {
    return { candidateDim: candidate.dim, productionDim: production.dim, specDifferences: featureSpecDifferences(candidate.spec, production.spec) };
  } finally {
    await Promise.all([candidate.release(), production.release()]);
  }
}
