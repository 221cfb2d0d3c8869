import { Worker } from "node:worker_threads";
import type { ItemTensors, UserTensors } from "@funnel/two-tower";
import { candidateColumns } from "./in-batch-softmax-loss.js";
import { initBackend } from "./init-backend.js";
import type { TowerInputLayout } from "./tower-embeddings.js";
import { MLP_WEIGHT_NAMES, type TowerSide } from "./tower-mlp.js";
import type { TowerExchange, TowerReply, TowerRequest, TowerStepRequest } from "./tower-worker.js";
import { hasUserIdEmbedding, parameterShapes, type TwoTowerConfig, type TwoTowerWeights } from "./two-tower-model.js";

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
 * A batch checked and laid out for the workers (indices in range, extra negatives appended, column log q), so
 * it can be made while the workers run the step before.
 */
export interface PreparedTowerBatch {
  readonly prepared: true;
  users: number;
  columns: number;
  extraCount: number;
  user: { numeric: Float32Array; indices: Int32Array[] };
  item: { numeric: Float32Array; indices: Int32Array[] };
  columnLogQ: Float32Array;
  columnIds?: Int32Array;
}

export interface ParallelStepOptions {
  temperature: number;
  dropout: number;
  seed: number;
}

/** Tables both towers read: each worker keeps a copy and both take the same update. */
const SHARED_TABLES = ["emb.item", "emb.page"];

/** Each tower's input row, as TwoTowerModel.userTower / itemTower concatenate it. */
function layouts(c: TwoTowerConfig): Record<TowerSide, TowerInputLayout> {
  return {
    user: {
      numericSize: c.userNumericSize,
      inputs: [
        { table: "emb.device", length: 1, pool: "none" },
        { table: "emb.item", length: c.sequenceLength, pool: "masked-mean" },
        { table: "emb.page", length: c.sequenceLength, pool: "masked-mean" },
        { table: "emb.userAttribute", length: c.attributeSlots, pool: "masked-mean" },
        ...(hasUserIdEmbedding(c) ? [{ table: "emb.userId", length: 1, pool: "masked-mean" as const }] : []),
      ],
    },
    item: {
      numericSize: c.itemNumericSize,
      inputs: [
        { table: "emb.item", length: 1, pool: "none" },
        { table: "emb.page", length: 1, pool: "none" },
        { table: "emb.interaction", length: 1, pool: "none" },
        { table: "emb.category", length: c.categorySlots, pool: "masked-mean" },
      ],
    },
  };
}

/**
 * Trains the two towers in two worker threads, one per tower, each with its own tfjs WASM instance, its own
 * copy of the embedding tables it reads and its own Adam state. tfjs's WASM backend is single-threaded in Node,
 * so one thread leaves the second core idle; the towers only meet at the score matrix (and the shared tables),
 * so their forward and backward passes can run side by side.
 *
 * Per step the main thread sends each worker its batch rows (numeric features and table indices). Each worker
 * pools its embeddings and runs its MLP; the workers swap U and V through shared memory; each computes the
 * scores, loss and dL/dS of half the batch's rows and from them its rows' share of dL/dU and dL/dV; they swap
 * the shares, run their backward passes, swap their gradients of the shared tables, and reply with the loss and
 * gradient norm shares; then each takes its Adam steps while the main thread prepares the next batch.
 *
 * The arithmetic is that of trainStep (same ops, same dropout masks, same JS loss pass), so a seed gives the
 * same weights up to float rounding (sums split in two add up in another order), and the same weights on every
 * run: the row split is fixed, and each worker's part is added in a fixed order.
 */
export class ParallelTowerTrainer {
  /** Milliseconds spent per phase of step(), summed over all steps: where a step's time goes. */
  readonly timings: Record<string, number> = {};
  private exchange: TowerExchange | undefined;
  private sequence = 0;
  private readonly tableRows: Record<string, number>;
  private readonly sharedFloats: number;

  private constructor(
    readonly config: TwoTowerConfig,
    private readonly workers: Record<TowerSide, TowerWorker>,
  ) {
    const shapes = parameterShapes(config);
    this.tableRows = Object.fromEntries(Object.entries(shapes).map(([name, shape]) => [name, shape[0]]));
    this.sharedFloats = SHARED_TABLES.reduce((sum, name) => sum + shapes[name]![0] * (shapes[name]![1] ?? 1), 0);
  }

  static async create(config: TwoTowerConfig, weights: TwoTowerWeights, options: { weightDecay: number }): Promise<ParallelTowerTrainer> {
    await initBackend();
    const shapes = parameterShapes(config);
    for (const [name, shape] of Object.entries(shapes)) {
      const w = weights[name];
      if (!w) throw new Error(`ParallelTowerTrainer: weights are missing "${name}"`);
      if (w.shape.join("x") !== shape.join("x")) throw new Error(`ParallelTowerTrainer: weight "${name}" has shape [${w.shape}], the config needs [${shape}]`);
    }
    const workers = { user: new TowerWorker("user"), item: new TowerWorker("item") };
    const layout = layouts(config);
    try {
      await Promise.all(
        (["user", "item"] as const).map((side) => {
          const names = [...MLP_WEIGHT_NAMES.map((short) => `${side}.${short}`), ...new Set(layout[side].inputs.map((input) => input.table))];
          const own = Object.fromEntries(names.map((name) => [name, cloneWeight(weights[name]!)]));
          return workers[side].call({ type: "init", side, weights: own, weightDecay: options.weightDecay, layout: layout[side], sharedTables: SHARED_TABLES });
        }),
      );
    } catch (error) {
      await Promise.all([workers.user.terminate(), workers.item.terminate()]);
      throw error;
    }
    return new ParallelTowerTrainer(config, workers);
  }

  prepare(batch: TowerBatch): PreparedTowerBatch {
    const n = batch.users.count;
    const items = batch.extraItems ? concatItems(batch.items, batch.extraItems) : batch.items;
    const extra = batch.extraItems && batch.extraLogQ ? { count: batch.extraItems.count, logQ: batch.extraLogQ, ...(batch.extraIds ? { itemIds: batch.extraIds } : {}) } : undefined;
    const { columnLogQ, columnIds } = candidateColumns(n, batch.logQ, batch.itemIds, extra);
    const layout = layouts(this.config);
    const u = batch.users;
    const user = { numeric: u.numeric, indices: [u.device, u.recentItems, u.recentPages, u.attributes, ...(hasUserIdEmbedding(this.config) ? [u.userId] : [])] };
    const item = { numeric: items.numeric, indices: [items.itemIndex, items.page, items.interaction, items.category] };
    for (const [side, rows] of [["user", user], ["item", item]] as const) {
      layout[side].inputs.forEach((input, i) => {
        checkIndices(input.table, rows.indices[i]!, this.tableRows[input.table]!);
      });
    }
    return { prepared: true, users: n, columns: items.count, extraCount: batch.extraItems?.count ?? 0, user, item, columnLogQ, ...(columnIds ? { columnIds } : {}) };
  }

  /** One optimisation step; returns the batch loss and the global gradient norm, as trainStep does. */
  async step(input: TowerBatch | PreparedTowerBatch, options: ParallelStepOptions, learningRate: number, step: number): Promise<{ loss: number; gradNorm: number }> {
    const started = performance.now();
    const p = "prepared" in input ? input : this.prepare(input);
    const n = p.users;
    const columns = p.columns;
    const dropoutSeed = options.seed * 1_000_003 + step;
    const itemSegments = [{ rows: n, seed: dropoutSeed + 1 }];
    if (p.extraCount > 0) itemSegments.push({ rows: p.extraCount, seed: dropoutSeed + 2 });
    // Each worker scores half the rows (the softmax is row by row) once it has the other's embeddings.
    const half = Math.ceil(n / 2);
    // Sent only when new: cloning shared buffers into a message cost ~0.3 ms a step.
    const exchange = this.exchangeFor(Math.max(Math.max(n, columns) * this.config.dim, this.sharedFloats));
    this.sequence++;
    const shared: Omit<TowerStepRequest, "numeric" | "indices" | "rows" | "segments" | "scoreRows"> = {
      type: "step",
      ...(exchange ? { exchange } : {}),
      sequence: this.sequence,
      sentAt: performance.timeOrigin + performance.now(),
      dropout: options.dropout,
      temperature: options.temperature,
      columnLogQ: p.columnLogQ,
      ...(p.columnIds ? { columnIds: p.columnIds } : {}),
      learningRate,
    };
    // The item worker first: its tower is the wider one, and whichever is woken second starts later
    // (measured: ~1% more samples/s this way round).
    const itemReply = this.workers.item.call<"step">({ ...shared, ...p.item, rows: columns, segments: itemSegments, scoreRows: { start: half, count: n - half } });
    const userReply = this.workers.user.call<"step">({ ...shared, ...p.user, rows: n, segments: [{ rows: n, seed: dropoutSeed }], scoreRows: { start: 0, count: half } });
    const [du, dv] = await Promise.all([userReply, itemReply]);
    this.note("step (main thread's view)", performance.now() - started);
    for (const [side, reply] of [["user", du], ["item", dv]] as const) {
      for (const [phase, ms] of Object.entries(reply.phases)) this.note(`  ${side} worker: ${phase}`, ms);
    }
    return { loss: du.loss + dv.loss, gradNorm: Math.sqrt(du.gradSquared + dv.gradSquared) };
  }

  /** New shared slots when the current ones (if any) hold fewer than `floats` values, else undefined. */
  private exchangeFor(floats: number): TowerExchange | undefined {
    if (this.exchange && this.exchange.slots[0]!.byteLength >= floats * 4) return undefined;
    this.exchange = { flags: new SharedArrayBuffer(6 * 4), slots: Array.from({ length: 6 }, () => new SharedArrayBuffer(floats * 4)) };
    return this.exchange;
  }

  private note(phase: string, ms: number): void {
    this.timings[phase] = (this.timings[phase] ?? 0) + ms;
  }

  /** Current weights of both towers and the tables, in TwoTowerModel's layout (shared tables: the user copy). */
  async getWeights(): Promise<TwoTowerWeights> {
    const [user, item] = await Promise.all([this.workers.user.call<"weights">({ type: "weights" }), this.workers.item.call<"weights">({ type: "weights" })]);
    return { ...item.weights, ...user.weights };
  }

  async dispose(): Promise<void> {
    await Promise.all([this.workers.user.terminate(), this.workers.item.terminate()]);
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
