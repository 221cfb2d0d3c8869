import { Worker } from "node:worker_threads";
import type { ItemTensors, UserTensors } from "../features/index.js";
import { AdamOptimizer } from "./adam-optimizer.js";
import { bagBackward, bagForward, bagWeights } from "./embedding-bag.js";
import { candidateColumns } from "./in-batch-softmax-loss.js";
import { initBackend } from "./init-backend.js";
import { MLP_WEIGHT_NAMES, type TowerSide } from "./tower-mlp.js";
import type { TowerExchange, TowerReply, TowerRequest } from "./tower-worker.js";
import { parameterShapes, userInputWidth, itemInputWidth, type TwoTowerConfig, type TwoTowerWeights } from "./two-tower-model.js";

/** What one parallel step needs of a batch (the fields assembleBatch fills). */
export interface TowerBatch {
  users: UserTensors;
  items: ItemTensors;
  itemIds: Int32Array;
  logQ?: Float32Array;
  extraItems?: ItemTensors;
  extraIds?: Int32Array;
  extraLogQ?: Float32Array;
}

/**
 * A batch with everything that does not depend on the weights done (index checks, pooling weights, the inputs'
 * numeric columns, column log q), so it can be made while the workers run the step before. Use it once: its
 * input arrays are handed to the workers.
 */
export interface PreparedTowerBatch {
  readonly prepared: true;
  batch: TowerBatch;
  items: ItemTensors;
  user: { x: Float32Array; weights: Float32Array[] };
  item: { x: Float32Array; weights: Float32Array[] };
  columnLogQ: Float32Array;
  columnIds?: Int32Array;
}

export interface ParallelStepOptions {
  temperature: number;
  dropout: number;
  seed: number;
}

const EMBEDDING_NAMES = ["emb.device", "emb.item", "emb.page", "emb.interaction", "emb.category"] as const;
type EmbeddingName = (typeof EMBEDDING_NAMES)[number];

/**
 * Trains the two towers' MLPs in two worker threads, one per tower, each with its own tfjs WASM instance and
 * Adam state. tfjs's WASM backend is single-threaded in Node, so one thread leaves the second core idle; the
 * towers only meet at the score matrix, so their forward and backward passes can run side by side.
 *
 * Per step the main thread pools the embeddings into each tower's input (in JS, as embeddingBag does) and sends
 * each worker its input. The workers compute U and V and swap them through shared memory; each computes
 * the scores, loss and dL/dS of half the batch's rows and from them its rows' share of dL/dU and dL/dV; they swap
 * the shares, run their backward passes and return dL/dx (then take their Adam steps), and the main thread
 * scatters dL/dx into the shared embedding tables and updates them with its own Adam.
 *
 * The arithmetic is that of trainStep (same ops, same dropout masks, same JS loss pass), so a seed gives the
 * same weights up to float rounding (sums split in two add up in another order), and the same weights on every
 * run: the row split is fixed, and each worker's part is added in a fixed order.
 */
export class ParallelTowerTrainer {
  private readonly tables: Record<EmbeddingName, Float32Array>;
  private readonly optimizer: AdamOptimizer;
  /** Milliseconds spent per phase of step(), summed over all steps: where a step's time goes. */
  readonly timings: Record<string, number> = {};
  private exchange: TowerExchange | undefined;
  private sequence = 0;

  private constructor(
    readonly config: TwoTowerConfig,
    tables: Record<EmbeddingName, Float32Array>,
    private readonly workers: Record<TowerSide, TowerWorker>,
  ) {
    this.tables = tables;
    // No embedding table decays (only names ending in ".kernel" do), as in trainTwoTower.
    this.optimizer = new AdamOptimizer({ weightDecay: 0 });
  }

  static async create(config: TwoTowerConfig, weights: TwoTowerWeights, options: { weightDecay: number }): Promise<ParallelTowerTrainer> {
    await initBackend();
    const shapes = parameterShapes(config);
    for (const [name, shape] of Object.entries(shapes)) {
      const w = weights[name];
      if (!w) throw new Error(`ParallelTowerTrainer: weights are missing "${name}"`);
      if (w.shape.join("x") !== shape.join("x")) throw new Error(`ParallelTowerTrainer: weight "${name}" has shape [${w.shape}], the config needs [${shape}]`);
    }
    const tables = Object.fromEntries(EMBEDDING_NAMES.map((name) => [name, Float32Array.from(weights[name]!.values)])) as Record<EmbeddingName, Float32Array>;
    const workers = { user: new TowerWorker("user"), item: new TowerWorker("item") };
    try {
      await Promise.all(
        (["user", "item"] as const).map((side) => {
          const mlp = Object.fromEntries(MLP_WEIGHT_NAMES.map((short) => [`${side}.${short}`, cloneWeight(weights[`${side}.${short}`]!)]));
          return workers[side].call({ type: "init", side, weights: mlp, weightDecay: options.weightDecay });
        }),
      );
    } catch (error) {
      await Promise.all([workers.user.terminate(), workers.item.terminate()]);
      throw error;
    }
    return new ParallelTowerTrainer(config, tables, workers);
  }

  /** One optimisation step; returns the batch loss and the global gradient norm, as trainStep does. */
  prepare(batch: TowerBatch): PreparedTowerBatch {
    const n = batch.users.count;
    const items = batch.extraItems ? concatItems(batch.items, batch.extraItems) : batch.items;
    const extra = batch.extraItems && batch.extraLogQ ? { count: batch.extraItems.count, logQ: batch.extraLogQ, ...(batch.extraIds ? { itemIds: batch.extraIds } : {}) } : undefined;
    const { columnLogQ, columnIds } = candidateColumns(n, batch.logQ, batch.itemIds, extra);
    return {
      prepared: true,
      batch,
      items,
      user: this.userFeatures(batch.users),
      item: this.itemFeatures(items),
      columnLogQ,
      ...(columnIds ? { columnIds } : {}),
    };
  }

  async step(input: TowerBatch | PreparedTowerBatch, options: ParallelStepOptions, learningRate: number, step: number): Promise<{ loss: number; gradNorm: number }> {
    let mark = performance.now();
    const lap = (phase: string): void => {
      const now = performance.now();
      this.timings[phase] = (this.timings[phase] ?? 0) + now - mark;
      mark = now;
    };
    const c = this.config;
    const prepared = "prepared" in input ? input : this.prepare(input);
    const { batch, items, user, item, columnLogQ, columnIds } = prepared;
    const n = batch.users.count;
    const columns = items.count;
    this.fill(this.userInputs(batch.users), user.weights, n, user.x, userInputWidth(c), c.userNumericSize);
    this.fill(this.itemInputs(items), item.weights, columns, item.x, itemInputWidth(c), c.itemNumericSize);
    const dropoutSeed = options.seed * 1_000_003 + step;
    const itemSegments = [{ rows: n, seed: dropoutSeed + 1 }];
    if (batch.extraItems) itemSegments.push({ rows: batch.extraItems.count, seed: dropoutSeed + 2 });
    lap("embeddings forward (main)");
    // Each worker scores half the rows (the softmax is row by row) once it has the other's embeddings.
    const half = Math.ceil(n / 2);
    // Sent only when new: cloning shared buffers into a message cost ~0.3 ms a step.
    const exchange = this.exchangeFor(Math.max(n, columns) * c.dim);
    this.sequence++;
    const shared = { type: "step" as const, ...(exchange ? { exchange } : {}), sequence: this.sequence, sentAt: performance.timeOrigin + performance.now(), dropout: options.dropout, temperature: options.temperature, columnLogQ, ...(columnIds ? { columnIds } : {}), learningRate };
    // The item worker first: its tower is the wider one, and whichever is woken second starts later
    // (measured: ~1% more samples/s this way round).
    const itemReply = this.workers.item.call<"step">({ ...shared, x: item.x, rows: columns, segments: itemSegments, scoreRows: { start: half, count: n - half } }, [
      item.x.buffer as ArrayBuffer,
    ]);
    const userReply = this.workers.user.call<"step">({ ...shared, x: user.x, rows: n, segments: [{ rows: n, seed: dropoutSeed }], scoreRows: { start: 0, count: half } }, [
      user.x.buffer as ArrayBuffer,
    ]);
    const [du, dv] = await Promise.all([userReply, itemReply]);
    lap("towers (workers)");
    for (const [side, reply] of [["user", du], ["item", dv]] as const) {
      for (const [phase, ms] of Object.entries(reply.phases)) this.note(`  ${side} worker: ${phase}`, ms);
    }
    const grads = Object.fromEntries(EMBEDDING_NAMES.map((name) => [name, new Float32Array(this.tables[name].length)])) as Record<EmbeddingName, Float32Array>;
    this.userBackward(batch.users, user.weights, du.dx, grads);
    this.itemBackward(items, item.weights, dv.dx, grads);
    let squared = du.gradSquared + dv.gradSquared;
    for (const g of Object.values(grads)) for (let i = 0; i < g.length; i++) squared += g[i]! * g[i]!;
    this.optimizer.applyArrays(this.tables, grads, learningRate);
    lap("embeddings backward + Adam (main)");
    return { loss: du.loss + dv.loss, gradNorm: Math.sqrt(squared) };
  }

  /** New shared slots when the current ones (if any) hold fewer than `floats` values, else undefined. */
  private exchangeFor(floats: number): TowerExchange | undefined {
    if (this.exchange && this.exchange.slots[0]!.byteLength >= floats * 4) return undefined;
    this.exchange = { flags: new SharedArrayBuffer(4 * 4), slots: Array.from({ length: 4 }, () => new SharedArrayBuffer(floats * 4)) };
    return this.exchange;
  }

  private note(phase: string, ms: number): void {
    this.timings[phase] = (this.timings[phase] ?? 0) + ms;
  }

  /** Current weights of both towers and the tables, in TwoTowerModel's layout. */
  async getWeights(): Promise<TwoTowerWeights> {
    const [user, item] = await Promise.all([this.workers.user.call<"weights">({ type: "weights" }), this.workers.item.call<"weights">({ type: "weights" })]);
    const out: TwoTowerWeights = {};
    const shapes = parameterShapes(this.config);
    for (const name of EMBEDDING_NAMES) out[name] = { shape: [...shapes[name]!], values: Float32Array.from(this.tables[name]) };
    Object.assign(out, user.weights, item.weights);
    return out;
  }

  async dispose(): Promise<void> {
    this.optimizer.dispose();
    await Promise.all([this.workers.user.terminate(), this.workers.item.terminate()]);
  }

  /** numeric ‖ device ‖ mean(recent items) ‖ mean(recent pages), as TwoTowerModel.userTower concatenates them. */
  private userFeatures(users: UserTensors): { x: Float32Array; weights: Float32Array[] } {
    const c = this.config;
    const n = users.count;
    const width = userInputWidth(c);
    const x = new Float32Array(n * width);
    copyRows(users.numeric, c.userNumericSize, x, width, n);
    return { x, weights: this.poolWeights(this.userInputs(users), n) };
  }

  private userInputs(users: UserTensors): [EmbeddingName, Int32Array, number, "none" | "masked-mean"][] {
    const L = this.config.sequenceLength;
    return [
      ["emb.device", users.device, 1, "none"],
      ["emb.item", users.recentItems, L, "masked-mean"],
      ["emb.page", users.recentPages, L, "masked-mean"],
    ];
  }

  private itemFeatures(items: ItemTensors): { x: Float32Array; weights: Float32Array[] } {
    const c = this.config;
    const n = items.count;
    const width = itemInputWidth(c);
    const x = new Float32Array(n * width);
    copyRows(items.numeric, c.itemNumericSize, x, width, n);
    return { x, weights: this.poolWeights(this.itemInputs(items), n) };
  }

  private itemInputs(items: ItemTensors): [EmbeddingName, Int32Array, number, "none" | "masked-mean"][] {
    return [
      ["emb.item", items.itemIndex, 1, "none"],
      ["emb.page", items.page, 1, "none"],
      ["emb.interaction", items.interaction, 1, "none"],
      ["emb.category", items.category, 1, "none"],
    ];
  }

  /** Checks the indices and returns each input's per-slot pooling weights. */
  private poolWeights(inputs: [EmbeddingName, Int32Array, number, "none" | "masked-mean"][], n: number): Float32Array[] {
    return inputs.map(([name, indices, length, mode]) => {
      checkIndices(name, indices, this.tables[name].length / this.tableWidth(name));
      return bagWeights(indices, n, length, mode);
    });
  }

  /** Writes the pooled embeddings (with the current tables) into their columns of x. */
  private fill(
    inputs: [EmbeddingName, Int32Array, number, "none" | "masked-mean"][],
    weights: Float32Array[],
    n: number,
    x: Float32Array,
    stride: number,
    start: number,
  ): void {
    let offset = start;
    inputs.forEach(([name, indices, length], i) => {
      const width = this.tableWidth(name);
      bagForward(this.tables[name], width, indices, weights[i]!, n, length, x, stride, offset);
      offset += width;
    });
  }

  private userBackward(users: UserTensors, weights: Float32Array[], dx: Float32Array, grads: Record<EmbeddingName, Float32Array>): void {
    const c = this.config;
    const L = c.sequenceLength;
    const inputs: [EmbeddingName, Int32Array, number][] = [
      ["emb.device", users.device, 1],
      ["emb.item", users.recentItems, L],
      ["emb.page", users.recentPages, L],
    ];
    this.unpool(inputs, weights, users.count, dx, userInputWidth(c), c.userNumericSize, grads);
  }

  private itemBackward(items: ItemTensors, weights: Float32Array[], dx: Float32Array, grads: Record<EmbeddingName, Float32Array>): void {
    const c = this.config;
    const inputs = this.itemInputs(items).map(([name, indices, length]) => [name, indices, length] as [EmbeddingName, Int32Array, number]);
    this.unpool(inputs, weights, items.count, dx, itemInputWidth(c), c.itemNumericSize, grads);
  }

  private unpool(
    inputs: [EmbeddingName, Int32Array, number][],
    weights: Float32Array[],
    n: number,
    dx: Float32Array,
    stride: number,
    start: number,
    grads: Record<EmbeddingName, Float32Array>,
  ): void {
    let offset = start;
    inputs.forEach(([name, indices, length], i) => {
      const width = this.tableWidth(name);
      bagBackward(dx, stride, offset, indices, weights[i]!, n, length, grads[name], width);
      offset += width;
    });
  }

  private tableWidth(name: EmbeddingName): number {
    return parameterShapes(this.config)[name]![1]!;
  }
}

/** A worker thread running tower-worker.ts; requests are answered in order, one reply each. */
class TowerWorker {
  private readonly worker: Worker;
  private readonly pending: { resolve: (reply: TowerReply) => void; reject: (error: Error) => void }[] = [];
  private failure: Error | undefined;

  constructor(readonly side: TowerSide) {
    this.worker = new Worker(new URL("./tower-worker-bootstrap.mjs", import.meta.url));
    this.worker.on("message", (reply: TowerReply) => {
      const next = this.pending.shift();
      if (!next) return;
      if (reply.type === "error") next.reject(new Error(`${side} tower worker: ${reply.message}`));
      else next.resolve(reply);
    });
    this.worker.on("error", (error) => this.fail(new Error(`${side} tower worker crashed: ${error.message}`)));
    this.worker.on("exit", (code) => this.fail(new Error(`${side} tower worker exited (code ${code})`)));
  }

  call<T extends TowerReply["type"]>(request: TowerRequest, transfer: ArrayBuffer[] = []): Promise<Extract<TowerReply, { type: T }>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve: resolve as (reply: TowerReply) => void, reject });
      this.worker.postMessage(request, transfer);
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const p of this.pending.splice(0)) p.reject(error);
  }

  async terminate(): Promise<void> {
    this.failure ??= new Error(`${this.side} tower worker was terminated`);
    await this.worker.terminate();
  }
}

function copyRows(source: Float32Array, width: number, target: Float32Array, stride: number, rows: number): void {
  for (let b = 0; b < rows; b++) target.set(source.subarray(b * width, (b + 1) * width), b * stride);
}

function checkIndices(name: string, indices: Int32Array, rows: number): void {
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]!;
    if (index < 0 || index >= rows) throw new RangeError(`${name}: index ${index} at position ${i} is outside the table's ${rows} rows`);
  }
}

function concatItems(a: ItemTensors, b: ItemTensors): ItemTensors {
  const join = <T extends Float32Array | Int32Array>(x: T, y: T): T => {
    const out = new (x.constructor as new (n: number) => T)(x.length + y.length);
    out.set(x, 0);
    out.set(y, x.length);
    return out;
  };
  return {
    count: a.count + b.count,
    numeric: join(a.numeric, b.numeric),
    itemIndex: join(a.itemIndex, b.itemIndex),
    page: join(a.page, b.page),
    interaction: join(a.interaction, b.interaction),
    category: join(a.category, b.category),
  };
}

function cloneWeight(w: { shape: number[]; values: Float32Array }): { shape: number[]; values: Float32Array } {
  return { shape: [...w.shape], values: Float32Array.from(w.values) };
}
