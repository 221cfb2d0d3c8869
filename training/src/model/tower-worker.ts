import { parentPort } from "node:worker_threads";
import { initBackend } from "./init-backend.js";
import { type DropoutSegment, TowerMlp, type TowerMlpWeights, type TowerSide } from "./tower-mlp.js";

/** Messages the parallel-tower trainer sends to a tower worker; each gets exactly one reply, in order. */
export type TowerRequest =
  | { type: "init"; side: TowerSide; weights: TowerMlpWeights; weightDecay: number }
  | { type: "forward"; x: Float32Array; rows: number; dropout: number; segments: DropoutSegment[] }
  | {
      type: "scores";
      other: Float32Array;
      otherRows: number;
      rows: { start: number; count: number };
      temperature: number;
      columnLogQ: Float32Array;
      columnIds?: Int32Array;
    }
  | { type: "backward"; fromOther: Float32Array; learningRate: number }
  | { type: "weights" };

/** `ms`: time the worker spent on the request, for the trainer's step profile. */
export type TowerReply = (
  | { type: "ready"; backend: string }
  | { type: "forward"; embeddings: Float32Array }
  | { type: "scores"; loss: number; forOther: Float32Array }
  | { type: "backward"; dx: Float32Array; gradSquared: number }
  | { type: "weights"; weights: TowerMlpWeights }
  | { type: "error"; message: string }
) & { ms?: number };

const port = parentPort;
if (!port) throw new Error("tower-worker.ts runs only as a worker thread (see ParallelTowerTrainer)");
let tower: TowerMlp | undefined;

async function handle(request: TowerRequest): Promise<[TowerReply, ArrayBuffer[]]> {
  if (request.type === "init") {
    const backend = await initBackend();
    tower = new TowerMlp(request.side, request.weights, { weightDecay: request.weightDecay });
    return [{ type: "ready", backend: backend.name }, []];
  }
  if (!tower) throw new Error(`tower worker: "${request.type}" before "init"`);
  if (request.type === "forward") {
    const embeddings = new Float32Array(tower.forward(request.x, request.rows, request.dropout, request.segments));
    return [{ type: "forward", embeddings }, [embeddings.buffer]];
  }
  if (request.type === "scores") {
    const { other, otherRows, rows, temperature, columnLogQ, columnIds } = request;
    const { loss, forOther } = tower.scoreRows(other, otherRows, rows, { temperature, columnLogQ, ...(columnIds ? { columnIds } : {}) });
    const copy = new Float32Array(forOther);
    return [{ type: "scores", loss, forOther: copy }, [copy.buffer]];
  }
  if (request.type === "backward") {
    const { dx, gradSquared } = tower.backward(request.fromOther, request.learningRate);
    const copy = new Float32Array(dx);
    return [{ type: "backward", dx: copy, gradSquared }, [copy.buffer]];
  }
  const weights = tower.getWeights();
  return [{ type: "weights", weights }, Object.values(weights).map((w) => w.values.buffer as ArrayBuffer)];
}

// Requests are handled strictly one after another: the trainer awaits each reply before the next request.
port.on("message", (request: TowerRequest) => {
  const started = performance.now();
  handle(request).then(
    ([reply, transfer]) => {
      port.postMessage({ ...reply, ms: performance.now() - started }, transfer);
      // After the reply, so the Adam step overlaps the main thread's embedding update; the next request waits
      // for it (one thread), and forward would apply it anyway.
      if (reply.type === "backward") tower?.applyPendingUpdate();
    },
    (error: unknown) => port.postMessage({ type: "error", message: (error as Error).stack ?? String(error) } satisfies TowerReply),
  );
});
