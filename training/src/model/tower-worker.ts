import { parentPort } from "node:worker_threads";
import { initBackend } from "./init-backend.js";
import { type DropoutSegment, TowerMlp, type TowerMlpWeights, type TowerSide } from "./tower-mlp.js";

/** One training step of one tower, as the parallel-tower trainer sends it. */
export interface TowerStepRequest {
  type: "step";
  /** [rows, inputWidth] tower input (numeric features ‖ pooled embeddings). */
  x: Float32Array;
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
  /** Slots 0–3: user embeddings, item embeddings, the user worker's part for the item tower, and vice versa. */
  slots: SharedArrayBuffer[];
}

/** How long a worker waits for the other one before it gives up (it has most likely failed). */
const PEER_TIMEOUT_MS = 60_000;

/** Messages the parallel-tower trainer sends to a tower worker; each gets exactly one reply, in order. */
export type TowerRequest = { type: "init"; side: TowerSide; weights: TowerMlpWeights; weightDecay: number } | TowerStepRequest | { type: "weights" };

/** `phases`: where the worker's time went (ms), for the trainer's step profile. */
export type TowerReply =
  | { type: "ready"; backend: string }
  | { type: "step"; loss: number; dx: Float32Array; gradSquared: number; phases: Record<string, number> }
  | { type: "weights"; weights: TowerMlpWeights }
  | { type: "error"; message: string };

const port = parentPort;
if (!port) throw new Error("tower-worker.ts runs only as a worker thread (see ParallelTowerTrainer)");
let tower: TowerMlp | undefined;
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

async function step(t: TowerMlp, r: TowerStepRequest): Promise<[TowerReply, ArrayBuffer[]]> {
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
  const embeddings = t.forward(r.x, r.rows, r.dropout, r.segments);
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
  const { dx, gradSquared } = t.backward(fromOther, r.learningRate);
  const copy = new Float32Array(dx);
  lap("backward");
  return [{ type: "step", loss, dx: copy, gradSquared, phases }, [copy.buffer]];
}

async function handle(request: TowerRequest): Promise<[TowerReply, ArrayBuffer[]]> {
  if (request.type === "init") {
    const backend = await initBackend();
    tower = new TowerMlp(request.side, request.weights, { weightDecay: request.weightDecay });
    side = request.side;
    return [{ type: "ready", backend: backend.name }, []];
  }
  if (!tower) throw new Error(`tower worker: "${request.type}" before "init"`);
  if (request.type === "step") return step(tower, request);
  const weights = tower.getWeights();
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
        lastUpdate = { endedAt: performance.timeOrigin + performance.now(), ms: performance.now() - started };
      }
    },
    (error: unknown) => port.postMessage({ type: "error", message: (error as Error).stack ?? String(error) } satisfies TowerReply),
  );
});
