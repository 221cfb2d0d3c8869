// The conversion head: P(this session converts | user embedding from the history before it, current page,
// device). Trained on the funnel sessions after a time cutoff, with user embeddings from the trained user
// tower over each user's events before the cutoff (no look-ahead), evaluated on held-out users against the
// page-level base rate with AUC, Brier score and a reliability curve.
import {
  aggregateUserFeatures,
  CONVERSION_HEAD_FORMAT,
  type ConversionHead,
  conversionInput,
  conversionInputSize,
  type Device,
  encodeUsers,
  type FeatureSpec,
  type InteractionEvent,
  PAGES,
  type Page,
  type RawUserFeatures,
  sigmoid,
  type UserTensors,
} from "@funnel/two-tower";
import { createSeededRandom } from "../data/seeded-random.js";
import { eventsBeforeConversion, funnelSessions } from "./funnel-sessions.js";

export interface ConversionHeadOptions {
  spec: FeatureSpec;
  dim: number;
  embedUsers: (users: UserTensors) => Float32Array;
  seed: number;
  /** User id → pseudonym, for a spec with user-id buckets: the head then sees the embeddings serving has. */
  pseudonymOf?: (userId: string) => string;
  /** Share of the time range whose events form the history (the rest gives the labelled sessions). */
  historyShare?: number;
  /** Most examples used for fitting and for testing (sampled): keeps the fit to seconds on big datasets. */
  maxExamples?: number;
  epochs?: number;
}

export interface ReliabilityBin {
  /** Mean predicted probability in the bin. */
  predicted: number;
  /** Share of the bin's examples whose session converted. */
  observed: number;
  count: number;
}

export interface ProbabilityScores {
  auc: number;
  brier: number;
  logLoss: number;
  /** Expected calibration error over 10 equal-width bins. */
  ece: number;
  reliability: ReliabilityBin[];
}

export interface ConversionHeadEvaluation {
  examples: { train: number; test: number; positiveRate: number };
  /** The head on held-out users. */
  model: ProbabilityScores;
  /** P(convert | current page) from the training examples, on the same held-out examples. */
  baseRate: ProbabilityScores;
}

interface Example {
  user: string;
  page: Page;
  device: Device;
  label: 0 | 1;
}

/** Trains the head; returns it with its held-out evaluation (or undefined when there are no sessions to learn from). */
export function trainConversionHead(events: readonly InteractionEvent[], options: ConversionHeadOptions): { head: ConversionHead; evaluation: ConversionHeadEvaluation } | undefined {
  const times = events.map((e) => e.timestamp).sort((a, b) => a - b);
  if (times.length === 0) return undefined;
  const cutoff = times[Math.floor(times.length * (options.historyShare ?? 0.6))]!;
  const history = aggregateUserFeatures(
    events.filter((e) => e.timestamp < cutoff),
    { sequenceLength: options.spec.sequenceLength, ...(options.pseudonymOf ? { pseudonymOf: options.pseudonymOf } : {}) },
  );
  const examples = sessionExamples(events.filter((e) => e.timestamp >= cutoff));
  const random = createSeededRandom(options.seed);
  const isTest = (user: string) => hashUnit(user) < 0.2;
  const cap = options.maxExamples ?? 60_000;
  const train = sample(examples.filter((e) => !isTest(e.user)), cap, random);
  const test = sample(examples.filter((e) => isTest(e.user)), cap, random);
  if (train.length === 0 || test.length === 0) return undefined;

  const users = [...new Set([...train, ...test].map((e) => e.user))];
  const rowOf = new Map(users.map((u, i) => [u, i]));
  const embeddings = options.embedUsers(encodeUsers(options.spec, users.map((u): RawUserFeatures => history.get(u) ?? {})));
  const size = conversionInputSize(options.dim);
  const inputs = (list: Example[]): Float64Array => {
    const x = new Float64Array(list.length * size);
    list.forEach((e, i) => {
      const row = rowOf.get(e.user)!;
      conversionInput(embeddings.subarray(row * options.dim, (row + 1) * options.dim), e.page, e.device, x, i * size);
    });
    return x;
  };
  const trainX = inputs(train);
  const trainY = Float64Array.from(train, (e) => e.label);
  const { weights, bias } = fitLogistic(trainX, trainY, size, options.epochs ?? 200);

  const baseRates = pageRates(train);
  const overallRate = mean(trainY);
  const head: ConversionHead = { format: CONVERSION_HEAD_FORMAT, dim: options.dim, weights: Array.from(weights), bias, baseRates, overallRate };
  const testX = inputs(test);
  const labels = test.map((e) => e.label);
  const predicted = test.map((_, i) => {
    let z = bias;
    for (let j = 0; j < size; j++) z += weights[j]! * testX[i * size + j]!;
    return sigmoid(z);
  });
  return {
    head,
    evaluation: {
      examples: { train: train.length, test: test.length, positiveRate: overallRate },
      model: scoreProbabilities(predicted, labels),
      baseRate: scoreProbabilities(test.map((e) => baseRates[e.page]), labels),
    },
  };
}

/** One example per event before a session's first conversion: the page the user is on, and whether the session converts later. */
function sessionExamples(events: readonly InteractionEvent[]): Example[] {
  return funnelSessions(events).flatMap((session) =>
    eventsBeforeConversion(session).map((e): Example => ({ user: e.userId, page: e.page, device: e.device, label: session.converts === -1 ? 0 : 1 })),
  );
}

/** Full-batch gradient descent with Adam on the mean log loss plus a small L2 penalty. */
function fitLogistic(x: Float64Array, y: Float64Array, size: number, epochs: number): { weights: Float64Array; bias: number } {
  const n = y.length;
  const w = new Float64Array(size);
  const prior = Math.min(Math.max(mean(y), 1e-4), 1 - 1e-4);
  let b = Math.log(prior / (1 - prior));
  const m = new Float64Array(size + 1);
  const v = new Float64Array(size + 1);
  const grad = new Float64Array(size + 1);
  const lr = 0.05;
  const l2 = 1e-4;
  for (let t = 1; t <= epochs; t++) {
    grad.fill(0);
    for (let i = 0; i < n; i++) {
      let z = b;
      const o = i * size;
      for (let j = 0; j < size; j++) z += w[j]! * x[o + j]!;
      const err = sigmoid(z) - y[i]!;
      for (let j = 0; j < size; j++) grad[j]! += err * x[o + j]!;
      grad[size]! += err;
    }
    for (let j = 0; j <= size; j++) {
      const g = grad[j]! / n + (j < size ? l2 * w[j]! : 0);
      m[j] = 0.9 * m[j]! + 0.1 * g;
      v[j] = 0.999 * v[j]! + 0.001 * g * g;
      const step = (lr * (m[j]! / (1 - 0.9 ** t))) / (Math.sqrt(v[j]! / (1 - 0.999 ** t)) + 1e-8);
      if (j < size) w[j]! -= step;
      else b -= step;
    }
  }
  return { weights: w, bias: b };
}

function pageRates(list: Example[]): Record<Page, number> {
  const overall = mean(Float64Array.from(list, (e) => e.label));
  return Object.fromEntries(
    PAGES.map((page) => {
      const at = list.filter((e) => e.page === page);
      return [page, at.length === 0 ? overall : at.reduce((s, e) => s + e.label, 0) / at.length];
    }),
  ) as Record<Page, number>;
}

/** AUC (Mann-Whitney with tie correction), Brier, log loss, ECE and a 10-bin reliability curve. */
export function scoreProbabilities(predicted: readonly number[], labels: readonly number[]): ProbabilityScores {
  const order = predicted.map((p, i) => ({ p, y: labels[i]! })).sort((a, b) => a.p - b.p);
  let rankSum = 0;
  let positives = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && order[j]!.p === order[i]!.p) j++;
    const rank = (i + j + 1) / 2; // average 1-based rank of the tie group
    for (let k = i; k < j; k++) if (order[k]!.y === 1) { rankSum += rank; positives++; }
    i = j;
  }
  const negatives = order.length - positives;
  const auc = positives === 0 || negatives === 0 ? Number.NaN : (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
  let brier = 0;
  let logLoss = 0;
  const bins = Array.from({ length: 10 }, () => ({ sumP: 0, sumY: 0, count: 0 }));
  predicted.forEach((p, i) => {
    const y = labels[i]!;
    brier += (p - y) ** 2;
    const c = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
    logLoss -= y * Math.log(c) + (1 - y) * Math.log(1 - c);
    const bin = bins[Math.min(9, Math.floor(p * 10))]!;
    bin.sumP += p;
    bin.sumY += y;
    bin.count++;
  });
  const n = predicted.length;
  const reliability = bins.filter((b) => b.count > 0).map((b) => ({ predicted: b.sumP / b.count, observed: b.sumY / b.count, count: b.count }));
  const ece = reliability.reduce((s, b) => s + (b.count / n) * Math.abs(b.predicted - b.observed), 0);
  return { auc, brier: brier / n, logLoss: logLoss / n, ece, reliability };
}

function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return values.length === 0 ? 0 : s / values.length;
}

function sample<T>(list: T[], cap: number, random: { next(): number }): T[] {
  if (list.length <= cap) return list;
  const copy = list.slice();
  for (let i = 0; i < cap; i++) {
    const j = i + Math.floor(random.next() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, cap);
}

/** Stable user → [0, 1): the held-out users are the same whatever the event order. */
function hashUnit(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  // FNV-1a alone leaves the high bits of similar short ids alike: finish with murmur3's avalanche.
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}
