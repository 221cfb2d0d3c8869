import { invertSymmetricMatrix } from "./invert-symmetric-matrix.js";
import { rankAndScore, type RetrievalMetrics, topOfScores, type UserHitsListener } from "./retrieval-metrics.js";

/**
 * An item × item weight matrix W (row-major float32): a user with history H scores item j as Σ_{i∈H} W[i, j].
 * Item-kNN and EASE are both of this form; they differ in how W is fitted on the training interactions.
 */
export interface ItemToItemModel {
  itemCount: number;
  weights: Float32Array;
}

export const DEFAULT_KNN_SHRINK = 50;

/** Users' distinct training items: user row → item rows. */
export type Histories = Map<number, Set<number>> | { user: Int32Array; item: Int32Array };

/** XᵀX of the binary user × item matrix (co-occurrence counts; the diagonal is each item's user count). */
export function itemGram(histories: Histories, itemCount: number): Float64Array {
  const gram = new Float64Array(itemCount * itemCount);
  for (const items of historyLists(histories)) {
    for (const i of items) {
      if (i < 0 || i >= itemCount) throw new RangeError(`itemGram: item row ${i} is outside 0..${itemCount - 1}`);
      const row = i * itemCount;
      for (const j of items) gram[row + j]! += 1;
    }
  }
  return gram;
}

/**
 * Item-kNN: shrunk cosine similarity of items' user sets, |U_i ∩ U_j| / (√(|U_i|·|U_j|) + shrink), self-similarity 0,
 * optionally keeping only each item's `neighbours` most similar items (0: all). Without shrinkage two items bought
 * once by the same user have similarity 1 and drown out well-supported pairs: on online retail (leave-last 1,
 * validation) Recall@10 was 0.007 with shrink 0, 0.022 with 5, 0.030 with 20 and 0.035 with 50. Both are tuned on
 * validation by tuneBaselines, since the best values depend on the data.
 */
export function fitItemKnn(histories: Histories, itemCount: number, shrink = DEFAULT_KNN_SHRINK, neighbours = 0): ItemToItemModel {
  return itemKnnFromGram(itemGram(histories, itemCount), itemCount, shrink, neighbours);
}

/** Item-kNN from a precomputed itemGram, so a grid over shrink and neighbours counts co-occurrences once. */
export function itemKnnFromGram(gram: Float64Array, itemCount: number, shrink: number, neighbours = 0): ItemToItemModel {
  if (!(shrink >= 0)) throw new RangeError(`fitItemKnn: shrink must be >= 0, got ${shrink}`);
  if (!(Number.isInteger(neighbours) && neighbours >= 0)) throw new RangeError(`fitItemKnn: neighbours must be an integer >= 0 (0: all), got ${neighbours}`);
  const weights = new Float32Array(itemCount * itemCount);
  const norm = Float64Array.from({ length: itemCount }, (_, i) => Math.sqrt(gram[i * itemCount + i]!));
  for (let i = 0; i < itemCount; i++) {
    if (norm[i] === 0) continue;
    for (let j = 0; j < itemCount; j++) {
      const c = gram[i * itemCount + j]!;
      if (i !== j && c > 0) weights[i * itemCount + j] = c / (norm[i]! * norm[j]! + shrink);
    }
  }
  if (neighbours > 0 && neighbours < itemCount - 1) keepTopPerRow(weights, itemCount, neighbours);
  return { itemCount, weights };
}

/** Zeroes all but each row's `k` largest weights (ties at the cut to the lower column, as rankings break them). */
function keepTopPerRow(weights: Float32Array, n: number, k: number): void {
  const sorted = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const row = weights.subarray(i * n, (i + 1) * n);
    // A native numeric sort of a copy (ascending) gives the k-th largest weight; a comparator sort per row was ~50× slower.
    sorted.set(row);
    sorted.sort();
    const cut = sorted[n - k]!;
    let ties = k;
    for (let j = 0; j < n; j++) if (row[j]! > cut) ties--;
    for (let j = 0; j < n; j++) {
      if (row[j]! > cut) continue;
      if (row[j] === cut && ties > 0) ties--;
      else row[j] = 0;
    }
  }
}

/**
 * EASE (Steck 2019): the item-item linear autoencoder min ‖X − XB‖² + λ‖B‖² with diag(B) = 0, in closed form:
 * P = (XᵀX + λI)⁻¹, B[i, j] = −P[i, j] / P[j, j] for i ≠ j. On online retail (leave-last 1, validation) Recall@10
 * was 0.029 / 0.035 / 0.037 / 0.039 for λ = 20 / 100 / 500 / 2000.
 */
export async function fitEase(histories: Histories, itemCount: number, lambda: number): Promise<ItemToItemModel> {
  return easeFromGram(itemGram(histories, itemCount), itemCount, lambda);
}

/** EASE from a precomputed itemGram (left unchanged), so a grid over λ counts co-occurrences once. */
export async function easeFromGram(gram: Float64Array, itemCount: number, lambda: number): Promise<ItemToItemModel> {
  if (!(lambda > 0)) throw new RangeError(`fitEase: lambda must be > 0, got ${lambda}`);
  const regularised = Float64Array.from(gram);
  for (let i = 0; i < itemCount; i++) regularised[i * itemCount + i]! += lambda;
  const p = await invertSymmetricMatrix(regularised, itemCount);
  const weights = new Float32Array(itemCount * itemCount);
  for (let i = 0; i < itemCount; i++) {
    for (let j = 0; j < itemCount; j++) if (i !== j) weights[i * itemCount + j] = -p[i * itemCount + j]! / p[j * itemCount + j]!;
  }
  return { itemCount, weights };
}

/** Ranks every user's unseen items by Σ over the user's history of W rows, with the model's metrics code. */
export function itemToItemBaseline(args: {
  model: ItemToItemModel;
  testPositives: Map<number, Set<number>>;
  /** The users' histories: what they are scored from, and what is excluded from their rankings. */
  trainSeen: Map<number, Set<number>>;
  onUser?: UserHitsListener;
}): RetrievalMetrics {
  const { itemCount, weights } = args.model;
  const scores = new Float64Array(itemCount);
  return rankAndScore(
    args.testPositives,
    args.trainSeen,
    itemCount,
    topOfScores(args.trainSeen, (user) => {
      scores.fill(0);
      for (const i of args.trainSeen.get(user) ?? []) {
        const row = i * itemCount;
        for (let j = 0; j < itemCount; j++) scores[j]! += weights[row + j]!;
      }
      return scores;
    }),
    args.onUser,
  );
}

function historyLists(histories: Histories): Iterable<Iterable<number>> {
  if (histories instanceof Map) return histories.values();
  const byUser = new Map<number, Set<number>>();
  for (let k = 0; k < histories.user.length; k++) {
    const u = histories.user[k]!;
    const set = byUser.get(u);
    if (set) set.add(histories.item[k]!);
    else byUser.set(u, new Set([histories.item[k]!]));
  }
  return byUser.values();
}
