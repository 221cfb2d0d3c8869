import type { FeatureSpec, ItemTensors, UserTensors } from "@funnel/two-tower";
import * as tf from "@tensorflow/tfjs";
import { createSeededRandom } from "../data/index.js";
import { embeddingBag } from "./embedding-bag.js";
import { checkCatalogue, historyItemTable, historyItemTower, historyParameterShapes, historyUserTower } from "./history-towers.js";
import { dense } from "./mat-mul.js";

export const OUTPUT_DIMS = [64, 128, 256] as const;

export interface EmbeddingWidths {
  item: number;
  page: number;
  device: number;
  interaction: number;
  category: number;
  userAttribute: number;
  userId: number;
}

/** Everything that fixes the shapes of the towers' weights; stored in params.json and read back by export. */
export interface TwoTowerConfig {
  /** Output (embedding) dimension of both towers. */
  dim: number;
  /** Width of the hidden layer of each tower's MLP. */
  hidden: number;
  embedding: EmbeddingWidths;
  vocab: { device: number; page: number; interaction: number; item: number; category: number; userAttribute: number };
  userNumericSize: number;
  itemNumericSize: number;
  sequenceLength: number;
  /** Width of the item's category bag (feature spec item.categorySlots). */
  categorySlots: number;
  /** Width of the user's attribute bag (feature spec user.attributeSlots). */
  attributeSlots: number;
  /**
   * User-id hash buckets (feature spec user.idBuckets); 0 = no id embedding. The table has buckets + 1 rows, row 0
   * the "no id" zero vector. Optional so params.json of runs before it reads as 0.
   */
  userIdBuckets?: number;
  /**
   * "history" (the default of `train`): item vectors from id + feature embeddings with a per-item bias, the user
   * as a recency-weighted bag of the items in their history, a residual MLP, plain dot product (history-towers.ts).
   * "mlp": the first model, two MLP towers over concatenated embeddings, L2-normalised. Absent (params.json of
   * runs before the history model) reads as "mlp".
   */
  architecture?: TwoTowerArchitecture;
  /** History model: add the user's funnel inputs (device, pages, attributes, id, numbers) to the history bag. */
  userContext?: boolean;
}

export const ARCHITECTURES = ["history", "mlp"] as const;
export type TwoTowerArchitecture = (typeof ARCHITECTURES)[number];

export function architectureOf(c: TwoTowerConfig): TwoTowerArchitecture {
  return c.architecture ?? "mlp";
}

export const DEFAULT_EMBEDDING_WIDTHS: EmbeddingWidths = { item: 32, page: 8, device: 8, interaction: 8, category: 16, userAttribute: 8, userId: 32 };

export function towerConfigFromSpec(
  spec: FeatureSpec,
  options: { dim: number; hidden?: number; embedding?: Partial<EmbeddingWidths>; architecture?: TwoTowerArchitecture; userContext?: boolean },
): TwoTowerConfig {
  if (!Number.isInteger(options.dim) || options.dim < 1) throw new RangeError(`dim must be a positive integer, got ${options.dim}`);
  if (options.architecture === "history" && options.dim < 2) throw new RangeError(`the history model needs dim >= 2 (one coordinate is the item bias), got ${options.dim}`);
  return {
    ...(options.architecture ? { architecture: options.architecture } : {}),
    ...(options.userContext ? { userContext: true } : {}),
    dim: options.dim,
    hidden: options.hidden ?? 256,
    embedding: { ...DEFAULT_EMBEDDING_WIDTHS, ...options.embedding },
    vocab: {
      device: spec.vocab.device.size,
      page: spec.vocab.page.size,
      interaction: spec.vocab.interaction.size,
      item: spec.vocab.item.size,
      category: spec.vocab.category.size,
      userAttribute: spec.vocab.userAttribute.size,
    },
    userNumericSize: spec.user.numericSize,
    itemNumericSize: spec.item.numericSize,
    sequenceLength: spec.sequenceLength,
    categorySlots: spec.item.categorySlots,
    attributeSlots: spec.user.attributeSlots,
    userIdBuckets: spec.user.idBuckets,
  };
}

/** Whether the user tower has a hashed user-id embedding. */
export function hasUserIdEmbedding(c: TwoTowerConfig): boolean {
  return (c.userIdBuckets ?? 0) > 0;
}

/**
 * Input width of the user MLP: numeric ‖ device embedding ‖ pooled recent items ‖ pooled recent pages ‖ pooled
 * attributes (‖ user-id embedding, when the config has id buckets).
 */
export function userInputWidth(c: TwoTowerConfig): number {
  const id = hasUserIdEmbedding(c) ? c.embedding.userId : 0;
  return c.userNumericSize + c.embedding.device + c.embedding.item + c.embedding.page + c.embedding.userAttribute + id;
}

/** Input width of the item MLP: numeric ‖ item id ‖ page ‖ interaction ‖ category embeddings. */
export function itemInputWidth(c: TwoTowerConfig): number {
  return c.itemNumericSize + c.embedding.item + c.embedding.page + c.embedding.interaction + c.embedding.category;
}

/**
 * Weight names and shapes. The item-id and page tables are shared by both towers: a user's history and the
 * candidate items then live in one space, so one click teaches both sides.
 */
export function parameterShapes(c: TwoTowerConfig): Record<string, [number, number] | [number]> {
  if (architectureOf(c) === "history") return historyParameterShapes(c);
  return {
    "emb.device": [c.vocab.device, c.embedding.device],
    "emb.item": [c.vocab.item, c.embedding.item],
    "emb.page": [c.vocab.page, c.embedding.page],
    "emb.interaction": [c.vocab.interaction, c.embedding.interaction],
    "emb.category": [c.vocab.category, c.embedding.category],
    "emb.userAttribute": [c.vocab.userAttribute, c.embedding.userAttribute],
    ...(hasUserIdEmbedding(c) ? { "emb.userId": [c.userIdBuckets! + 1, c.embedding.userId] as [number, number] } : {}),
    "user.dense0.kernel": [userInputWidth(c), c.hidden],
    "user.dense0.bias": [c.hidden],
    "user.dense1.kernel": [c.hidden, c.dim],
    "user.dense1.bias": [c.dim],
    "item.dense0.kernel": [itemInputWidth(c), c.hidden],
    "item.dense0.bias": [c.hidden],
    "item.dense1.kernel": [c.hidden, c.dim],
    "item.dense1.bias": [c.dim],
  };
}

/** getWeights() key of the history model's derived item table (see TwoTowerModel.historyItemTable). */
export const HISTORY_ITEM_TABLE = "history.itemTable";

/** Plain arrays of weights: what export, checkpoints and tests read. */
export type TwoTowerWeights = Record<string, { shape: number[]; values: Float32Array }>;

/**
 * Seeded initial weights: Glorot-uniform kernels, zero biases, N(0, 0.05²) embeddings. Generated in JS rather
 * than by tf.initializers so a seed gives the same weights on every backend.
 *
 * The user-id table starts at zero (and draws nothing from the generator, so a run without it is unchanged): a
 * bucket no training user hashed to never gets a gradient and stays the "no id" vector, so an id first seen at
 * serving mostly embeds like a user without one, not like random noise.
 */
export function initialWeights(c: TwoTowerConfig, seed: number): TwoTowerWeights {
  const rng = createSeededRandom(seed);
  const weights: TwoTowerWeights = {};
  for (const [name, shape] of Object.entries(parameterShapes(c))) {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    if (name.startsWith("emb.") && name !== "emb.userId") for (let i = 0; i < size; i++) values[i] = 0.05 * rng.normal();
    else if (name.endsWith(".kernel")) {
      const limit = Math.sqrt(6 / (shape[0]! + (shape[1] ?? 1)));
      for (let i = 0; i < size; i++) values[i] = (2 * rng.next() - 1) * limit;
    }
    weights[name] = { shape: [...shape], values };
  }
  return weights;
}

export interface ForwardOptions {
  /** Dropout rate on the hidden layer while training; 0 at inference. */
  dropout?: number;
  /** Seed for this call's dropout mask, so a training run is reproducible. */
  dropoutSeed?: number;
}

let nextModelId = 0;

/** The two towers over tfjs variables. Call the towers inside tf.tidy. */
export class TwoTowerModel {
  readonly variables: Record<string, tf.Variable>;

  constructor(
    readonly config: TwoTowerConfig,
    weights: TwoTowerWeights,
    /**
     * History model: the item catalogue in vocabulary order (RetrievalTask.items), whose features make the item
     * vectors a user's history reads. Not a weight: the ONNX export bakes the resulting table in.
     */
    readonly catalogue?: ItemTensors,
  ) {
    if (architectureOf(config) === "history" && !catalogue) throw new Error("TwoTowerModel: the history model needs the item catalogue");
    const shapes = parameterShapes(config);
    nextModelId++;
    if (catalogue) checkCatalogue(config, catalogue);
    this.variables = {};
    for (const [name, shape] of Object.entries(shapes)) {
      const w = weights[name];
      if (!w) throw new Error(`TwoTowerModel: weights are missing "${name}"`);
      if (w.shape.join("x") !== shape.join("x")) {
        throw new Error(`TwoTowerModel: weight "${name}" has shape [${w.shape}], the config needs [${shape}]`);
      }
      // tfjs variable names are process-global; the suffix lets several models (tests, sweeps) coexist.
      this.variables[name] = tf.variable(tf.tensor(w.values, shape), true, `${name}#${nextModelId}`);
    }
  }

  static create(config: TwoTowerConfig, seed: number, catalogue?: ItemTensors): TwoTowerModel {
    return new TwoTowerModel(config, initialWeights(config, seed), catalogue);
  }

  private readonly weight = (name: string): tf.Tensor => this.v(name);

  /** History model: the vector of every item-vocabulary index (what history slots read), [vocab.item, dim − 1]. */
  historyItemTable(): tf.Tensor2D {
    return historyItemTable(this.config, this.weight, this.catalogue!);
  }

  private v(name: string): tf.Variable {
    const variable = this.variables[name];
    if (!variable) throw new Error(`TwoTowerModel: no variable "${name}"`);
    return variable;
  }

  /** User rows → L2-normalised [count, dim] embeddings. */
  userTower(users: UserTensors, options: ForwardOptions = {}, itemTable?: tf.Tensor2D): tf.Tensor2D {
    const c = this.config;
    if (architectureOf(c) === "history") return historyUserTower(c, this.weight, itemTable ?? this.historyItemTable(), users, options);
    const n = users.count;
    const L = c.sequenceLength;
    const features = tf.concat(
      [
        tf.tensor2d(users.numeric, [n, c.userNumericSize]),
        embeddingBag(this.v("emb.device") as tf.Tensor2D, users.device, n, 1, "none"),
        embeddingBag(this.v("emb.item") as tf.Tensor2D, users.recentItems, n, L, "masked-mean"),
        embeddingBag(this.v("emb.page") as tf.Tensor2D, users.recentPages, n, L, "masked-mean"),
        embeddingBag(this.v("emb.userAttribute") as tf.Tensor2D, users.attributes, n, c.attributeSlots, "masked-mean"),
        // Masked so index 0 (no id) is a zero vector whatever the table holds.
        ...(hasUserIdEmbedding(c) ? [embeddingBag(this.v("emb.userId") as tf.Tensor2D, users.userId, n, 1, "masked-mean")] : []),
      ],
      1,
    );
    return this.mlp("user", features, options);
  }

  /** Item rows → L2-normalised [count, dim] embeddings. */
  itemTower(items: ItemTensors, options: ForwardOptions = {}): tf.Tensor2D {
    const c = this.config;
    if (architectureOf(c) === "history") return historyItemTower(c, this.weight, items);
    const n = items.count;
    const features = tf.concat(
      [
        tf.tensor2d(items.numeric, [n, c.itemNumericSize]),
        embeddingBag(this.v("emb.item") as tf.Tensor2D, items.itemIndex, n, 1, "none"),
        embeddingBag(this.v("emb.page") as tf.Tensor2D, items.page, n, 1, "none"),
        embeddingBag(this.v("emb.interaction") as tf.Tensor2D, items.interaction, n, 1, "none"),
        embeddingBag(this.v("emb.category") as tf.Tensor2D, items.category, n, c.categorySlots, "masked-mean"),
      ],
      1,
    );
    return this.mlp("item", features, options);
  }

  private mlp(side: "user" | "item", x: tf.Tensor2D, options: ForwardOptions): tf.Tensor2D {
    let hidden = dense(x, this.v(`${side}.dense0.kernel`) as tf.Tensor2D, this.v(`${side}.dense0.bias`) as tf.Tensor1D, "relu");
    if (options.dropout && options.dropout > 0) hidden = tf.dropout(hidden, options.dropout, undefined, options.dropoutSeed) as tf.Tensor2D;
    const out = dense(hidden, this.v(`${side}.dense1.kernel`) as tf.Tensor2D, this.v(`${side}.dense1.bias`) as tf.Tensor1D, "linear");
    return l2Normalize(out);
  }

  /** Copies the current weights out of tfjs. */
  getWeights(): TwoTowerWeights {
    const out: TwoTowerWeights = {};
    for (const [name, variable] of Object.entries(this.variables)) {
      out[name] = { shape: [...variable.shape], values: new Float32Array(variable.dataSync() as Float32Array) };
    }
    if (architectureOf(this.config) === "history") {
      // Derived, not a variable (setWeights skips it): the table the ONNX user tower gathers history slots from.
      const table = tf.tidy(() => this.historyItemTable());
      out[HISTORY_ITEM_TABLE] = { shape: [...table.shape], values: new Float32Array(table.dataSync() as Float32Array) };
      table.dispose();
    }
    return out;
  }

  setWeights(weights: TwoTowerWeights): void {
    for (const [name, variable] of Object.entries(this.variables)) {
      const w = weights[name];
      if (!w) throw new Error(`TwoTowerModel.setWeights: missing "${name}"`);
      assignValues(variable, w.values);
    }
  }

  /** Embeds many rows in chunks so memory stays bounded; returns row-major float32. */
  embedUsers(users: UserTensors, chunk = 4096): Float32Array {
    return embedInChunks(users.count, this.config.dim, chunk, (start, end) => this.userTower(sliceUsers(users, start, end)));
  }

  embedItems(items: ItemTensors, chunk = 4096): Float32Array {
    return embedInChunks(items.count, this.config.dim, chunk, (start, end) => this.itemTower(sliceItems(items, start, end)));
  }

  dispose(): void {
    for (const variable of Object.values(this.variables)) variable.dispose();
  }
}

/**
 * Sets a variable to new values. `assign` shares the new tensor's data and takes a reference to it; the tensor
 * itself must still be disposed, or every assignment keeps one copy of the weights alive (it did: peak RSS grew
 * by the weights' size on every optimiser step in the tower workers and every epoch on the main thread).
 */
export function assignValues(variable: tf.Variable, values: Float32Array): void {
  const value = tf.tensor(values, variable.shape);
  variable.assign(value);
  value.dispose();
}

/**
 * x / max(‖x‖, 1e-6) row-wise; the same epsilon is used by the ONNX export. The gradient is written out,
 * dx = (dy − y·⟨dy, y⟩) / ‖x‖ (zero-free because of the epsilon), a handful of kernels instead of the dozen tf's
 * tape records for square/sum/maximum/sqrt/div.
 */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const norm = tf.sqrt(tf.maximum(tf.sum(tf.square(input), 1, true), L2_EPSILON_SQUARED));
    const y = tf.div(input, norm) as tf.Tensor2D;
    save([y, norm]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sy, sn] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [tf.div(tf.sub(dy, tf.mul(sy, tf.sum(tf.mul(dy, sy), 1, true))), sn)];
      },
    };
  });
  return op(x) as tf.Tensor2D;
}
export const L2_EPSILON_SQUARED = 1e-12;

function embedInChunks(count: number, dim: number, chunk: number, run: (start: number, end: number) => tf.Tensor2D): Float32Array {
  const out = new Float32Array(count * dim);
  for (let start = 0; start < count; start += chunk) {
    const end = Math.min(count, start + chunk);
    // dataSync outside tf.tidy: tidy walks a returned typed array element by element looking for tensors.
    const embeddings = tf.tidy(() => run(start, end));
    out.set(embeddings.dataSync() as Float32Array, start * dim);
    embeddings.dispose();
  }
  return out;
}

export function sliceUsers(u: UserTensors, start: number, end: number): UserTensors {
  const w = u.numeric.length / Math.max(1, u.count);
  const L = u.recentItems.length / Math.max(1, u.count);
  return {
    count: end - start,
    numeric: u.numeric.subarray(start * w, end * w),
    device: u.device.subarray(start, end),
    recentItems: u.recentItems.subarray(start * L, end * L),
    recentPages: u.recentPages.subarray(start * L, end * L),
    attributes: u.attributes.subarray(start * (u.attributes.length / Math.max(1, u.count)), end * (u.attributes.length / Math.max(1, u.count))),
    userId: u.userId.subarray(start, end),
  };
}

export function sliceItems(t: ItemTensors, start: number, end: number): ItemTensors {
  const w = t.numeric.length / Math.max(1, t.count);
  return {
    count: end - start,
    numeric: t.numeric.subarray(start * w, end * w),
    itemIndex: t.itemIndex.subarray(start, end),
    page: t.page.subarray(start, end),
    interaction: t.interaction.subarray(start, end),
    category: t.category.subarray(start * (t.category.length / Math.max(1, t.count)), end * (t.category.length / Math.max(1, t.count))),
  };
}
