import { parentPort } from "node:worker_threads";
import { initBackend } from "./init-backend.js";
import { TowerEmbeddings, type TowerInputLayout } from "./tower-embeddings.js";
import { type DropoutSegment, TowerMlp, type TowerMlpWeights, type TowerSide } from "./tower-mlp.js";

/** One training step of one tower, as the parallel-tower trainer sends it. */
export interface TowerStepRequest {
  type: "step";
  /** [rows, numericSize] numeric features and, per layout input, [rows, length] table indices. */
  numeric: Float32Array;
  indices: Int32Array[];
  rows: number;
  dropout: number;
  segments: DropoutSegment[];
  /** The batch rows whose scores and loss this worker computes (the other worker takes the rest). */
  scoreRows: { start: number; count: number };
  temperature: number;
  columnLogQ: Float32Array;
  columnIds?: Int32Array;
  learningRate: number;
  /** Sent with the first step and whenever a larger batch needs bigger slots; the worker keeps the last one. */
  exchange?: TowerExchange;
  /** Increases by one per step: the value a filled exchange slot is marked with. */
  sequence: number;
  /** performance.timeOrigin + performance.now() when the trainer sent the request. */
  sentAt: number;
}

/**
 * Shared memory through which the two workers swap their embeddings and their gradient parts within a step:
 * a MessagePort hop took ~0.8 ms each way, a slot handed over with Atomics is immediate. `flags` holds one
 * sequence number per slot, set once the slot's data is written.
 */
export interface TowerExchange {
  flags: SharedArrayBuffer;
  /**
   * Slots 0–3: user embeddings, item embeddings, the user worker's part for the item tower, and vice versa;
   * 4–5: the user and the item worker's gradients of the shared tables.
   */
  slots: SharedArrayBuffer[];
}

/** How long a worker waits for the other one before it gives up (it has most likely failed). */
const PEER_TIMEOUT_MS = 60_000;

/** Messages the parallel-tower trainer sends to a tower worker; each gets exactly one reply, in order. */
export type TowerRequest =
  | {
      type: "init";
      side: TowerSide;
      /** The MLP's weights and the tables the layout reads. */
      weights: TowerMlpWeights;
      weightDecay: number;
      layout: TowerInputLayout;
      /** Tables both towers read, in the order their gradients are laid out in the exchange. */
      sharedTables: string[];
    }
  | TowerStepRequest
  | { type: "weights" };

/** `phases`: where the worker's time went (ms), for the trainer's step profile. */
export type TowerReply =
  | { type: "ready"; backend: string }
  | { type: "step"; loss: number; gradSquared: number; phases: Record<string, number> }
  | { type: "weights"; weights: TowerMlpWeights }
  | { type: "error"; message: string };

const port = parentPort;
if (!port) throw new Error("tower-worker.ts runs only as a worker thread (see ParallelTowerTrainer)");
let tower: TowerMlp | undefined;
let embeddingTables: TowerEmbeddings | undefined;
let sharedTables: string[] = [];
/** The tables' gradients of the last step, applied after the reply like the MLP's. */
let pendingTables: { grads: Record<string, Float32Array>; learningRate: number } | undefined;
let side: TowerSide = "user";
/** When the last Adam step (run after the reply) ended, and how long it took, for the step profile. */
let lastUpdate = { endedAt: 0, ms: 0 };

function put(exchange: TowerExchange, slot: number, sequence: number, values: Float32Array): void {
  new Float32Array(exchange.slots[slot]!, 0, values.length).set(values);
  const flags = new Int32Array(exchange.flags);
  Atomics.store(flags, slot, sequence);
  Atomics.notify(flags, slot);
}

/** Blocks until the other worker has filled `slot` for this step, then copies `length` values out. */
function take(exchange: TowerExchange, slot: number, sequence: number, length: number): Float32Array {
  const flags = new Int32Array(exchange.flags);
  const deadline = performance.now() + PEER_TIMEOUT_MS;
  for (let seen = Atomics.load(flags, slot); seen !== sequence; seen = Atomics.load(flags, slot)) {
    if (performance.now() > deadline) throw new Error(`the other tower's worker sent nothing for ${PEER_TIMEOUT_MS / 1000} s (slot ${slot}, step ${sequence})`);
    Atomics.wait(flags, slot, seen, 1000);
  }
  return new Float32Array(exchange.slots[slot]!, 0, length).slice();
}

let exchange: TowerExchange | undefined;

async function step(t: TowerMlp, e: TowerEmbeddings, r: TowerStepRequest): Promise<[TowerReply, ArrayBuffer[]]> {
  if (r.exchange) exchange = r.exchange;
  if (!exchange) throw new Error("tower worker: the first step carries no exchange buffers");
  const shared = exchange;
  const now = performance.timeOrigin + performance.now();
  // The request waits while the last step's Adam update still runs; what remains is delivery.
  const phases: Record<string, number> = {
    "Adam update of the step before (after its reply)": lastUpdate.ms,
    "request delivery": now - Math.max(r.sentAt, lastUpdate.endedAt),
    "request queued behind the Adam update": Math.max(0, lastUpdate.endedAt - r.sentAt),
  };
  let mark = performance.now();
  const lap = (phase: string): void => {
    const now = performance.now();
    phases[phase] = now - mark;
    mark = now;
  };
  const user = side === "user";
  applyPendingTableUpdate(e);
  const x = e.fill(r.numeric, r.indices, r.rows);
  lap("embedding lookup and pooling");
  const embeddings = t.forward(x, r.rows, r.dropout, r.segments);
  const dim = embeddings.length / r.rows;
  // The user worker scores the first rows, the item worker the rest; both need all of U and V.
  const users = user ? r.rows : r.scoreRows.start + r.scoreRows.count;
  const columns = user ? r.columnLogQ.length : r.rows;
  put(shared, user ? 0 : 1, r.sequence, embeddings);
  lap("forward");
  const other = take(shared, user ? 1 : 0, r.sequence, (user ? columns : users) * dim);
  lap("wait for the other tower's embeddings");
  const { loss, forOther } = t.scoreRows(other, other.length / dim, r.scoreRows, {
    temperature: r.temperature,
    columnLogQ: r.columnLogQ,
    ...(r.columnIds ? { columnIds: r.columnIds } : {}),
  });
  put(shared, user ? 2 : 3, r.sequence, forOther);
  lap("scores, loss, dL/dS products");
  // The user worker gets the item worker's rows of dL/dU; the item worker an addend of dL/dV.
  const fromOther = take(shared, user ? 3 : 2, r.sequence, (user ? users - r.scoreRows.count : columns) * dim);
  lap("wait for the other tower's gradient part");
  const { dx, gradSquared: mlpSquared } = t.backward(fromOther, r.learningRate);
  lap("backward");
  const grads = e.backward(dx);
  // Both workers hold the shared tables: each adds the other's gradient (a + b = b + a exactly, so the two
  // copies stay identical) and takes the same Adam step.
  const sharedLength = sharedTables.reduce((sum, name) => sum + grads[name]!.length, 0);
  const mine = new Float32Array(sharedLength);
  let offset = 0;
  for (const name of sharedTables) {
    mine.set(grads[name]!, offset);
    offset += grads[name]!.length;
  }
  put(shared, user ? 4 : 5, r.sequence, mine);
  lap("embedding gradients");
  const theirs = take(shared, user ? 5 : 4, r.sequence, sharedLength);
  lap("wait for the other tower's table gradients");
  offset = 0;
  for (const name of sharedTables) {
    const g = grads[name]!;
    for (let i = 0; i < g.length; i++) g[i]! += theirs[offset + i]!;
    offset += g.length;
  }
  // The shared tables count once in the gradient norm: in the user worker's share.
  let gradSquared = mlpSquared;
  for (const [name, g] of Object.entries(grads)) {
    if (!user && sharedTables.includes(name)) continue;
    for (let i = 0; i < g.length; i++) gradSquared += g[i]! * g[i]!;
  }
  pendingTables = { grads, learningRate: r.learningRate };
  lap("shared table gradients added, norm");
  return [{ type: "step", loss, gradSquared, phases }, []];
}

function applyPendingTableUpdate(e: TowerEmbeddings): void {
  if (!pendingTables) return;
  e.update(pendingTables.grads, pendingTables.learningRate);
  pendingTables = undefined;
}

async function handle(request: TowerRequest): Promise<[TowerReply, ArrayBuffer[]]> {
  if (request.type === "init") {
    const backend = await initBackend();
    tower = new TowerMlp(request.side, request.weights, { weightDecay: request.weightDecay });
    embeddingTables = new TowerEmbeddings(request.layout, request.weights);
    sharedTables = request.sharedTables;
    side = request.side;
    return [{ type: "ready", backend: backend.name }, []];
  }
  if (!tower || !embeddingTables) throw new Error(`tower worker: "${request.type}" before "init"`);
  if (request.type === "step") return step(tower, embeddingTables, request);
  applyPendingTableUpdate(embeddingTables);
  const weights = tower.getWeights();
  for (const [name, values] of Object.entries(embeddingTables.tables)) {
    weights[name] = { shape: [values.length / embeddingTables.width(name), embeddingTables.width(name)], values: Float32Array.from(values) };
  }
  return [{ type: "weights", weights }, Object.values(weights).map((w) => w.values.buffer as ArrayBuffer)];
}

// Requests are handled strictly one after another: the trainer awaits each reply before the next request.
port.on("message", (request: TowerRequest) => {
  handle(request).then(
    ([reply, transfer]) => {
      port.postMessage(reply, transfer);
      // After the reply, so the Adam step overlaps the main thread's embedding update; the next request waits
      // for it (forward and getWeights apply it first).
      if (reply.type === "step") {
        const started = performance.now();
        tower?.applyPendingUpdate();
        if (embeddingTables) applyPendingTableUpdate(embeddingTables);
        lastUpdate = { endedAt: performance.timeOrigin + performance.now(), ms: performance.now() - started };
      }
    },
    (error: unknown) => port.postMessage({ type: "error", message: (error as Error).stack ?? String(error) } satisfies TowerReply),
  );
});
