import { AdamOptimizer } from "./adam-optimizer.js";
import { bagBackward, bagForward, bagWeights } from "./embedding-bag.js";

/** One pooled embedding input of a tower: the table, how many indices per row, and how they are pooled. */
export interface TowerInput {
  table: string;
  length: number;
  pool: "none" | "masked-mean";
}

/** A tower's input row: `numericSize` numeric features, then each input's pooled embedding, in order. */
export interface TowerInputLayout {
  numericSize: number;
  inputs: TowerInput[];
}

/**
 * The embedding tables a tower worker reads, with their Adam state: the worker pools its own inputs and updates
 * the tables itself, so the main thread does no per-step embedding work. Tables both towers read (item ids,
 * pages) exist in both workers; each adds the other's gradient for them before the update, so both copies
 * take the same steps. The arithmetic is embeddingBag's and AdamOptimizer's.
 */
export class TowerEmbeddings {
  readonly tables: Record<string, Float32Array> = {};
  private readonly widths: Record<string, number> = {};
  private readonly optimizer = new AdamOptimizer({ weightDecay: 0 });
  private last: { indices: Int32Array[]; weights: Float32Array[]; rows: number } | undefined;

  constructor(
    readonly layout: TowerInputLayout,
    tables: Record<string, { shape: number[]; values: Float32Array }>,
  ) {
    for (const { table } of layout.inputs) {
      const t = tables[table];
      if (!t) throw new Error(`TowerEmbeddings: table "${table}" is missing`);
      this.tables[table] = Float32Array.from(t.values);
      this.widths[table] = t.shape[1]!;
    }
  }

  get inputWidth(): number {
    return this.layout.numericSize + this.layout.inputs.reduce((sum, input) => sum + this.widths[input.table]!, 0);
  }

  width(table: string): number {
    return this.widths[table]!;
  }

  /** Builds the [rows, inputWidth] tower input with the current tables; `indices` follow layout.inputs. */
  fill(numeric: Float32Array, indices: Int32Array[], rows: number): Float32Array {
    const stride = this.inputWidth;
    const numericSize = this.layout.numericSize;
    const x = new Float32Array(rows * stride);
    for (let b = 0; b < rows; b++) for (let k = 0; k < numericSize; k++) x[b * stride + k] = numeric[b * numericSize + k]!;
    let offset = numericSize;
    const weights = this.layout.inputs.map((input, i) => {
      const w = bagWeights(indices[i]!, rows, input.length, input.pool);
      bagForward(this.tables[input.table]!, this.widths[input.table]!, indices[i]!, w, rows, input.length, x, stride, offset);
      offset += this.widths[input.table]!;
      return w;
    });
    this.last = { indices, weights, rows };
    return x;
  }

  /** The tables' gradients from dL/dx of the last fill (zero rows where nothing was looked up). */
  backward(dx: Float32Array): Record<string, Float32Array> {
    const last = this.last;
    if (!last) throw new Error("TowerEmbeddings.backward: call fill first");
    const grads: Record<string, Float32Array> = {};
    for (const name of Object.keys(this.tables)) grads[name] = new Float32Array(this.tables[name]!.length);
    let offset = this.layout.numericSize;
    this.layout.inputs.forEach((input, i) => {
      const width = this.widths[input.table]!;
      bagBackward(dx, this.inputWidth, offset, last.indices[i]!, last.weights[i]!, last.rows, input.length, grads[input.table]!, width);
      offset += width;
    });
    return grads;
  }

  update(grads: Record<string, Float32Array>, learningRate: number): void {
    this.optimizer.applyArrays(this.tables, grads, learningRate);
  }
}
