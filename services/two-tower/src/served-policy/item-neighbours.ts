// The item-to-item neighbour list of a version (item-neighbours.json): for every item its top-K neighbours with
// weights (item-kNN or EASE rows cut to the K largest), fitted on the training events. Stored sparse (CSR), so
// its size and a lookup grow with catalogue × K, never catalogue²: a second candidate source at serving.

export const ITEM_NEIGHBOURS_FORMAT = 1;

/** The file as written: item ids in row order, then row i's neighbours at offsets[i] .. offsets[i + 1]. */
export interface ItemNeighboursFile {
  format: typeof ITEM_NEIGHBOURS_FORMAT;
  /** How the weights were fitted, e.g. "ease λ 250" or "item-knn shrink 50". */
  method: string;
  /** Most neighbours kept per item. */
  k: number;
  items: string[];
  /** items.length + 1 offsets into neighbours / weights. */
  offsets: number[];
  /** Neighbour rows (into items), largest weight first within a row. */
  neighbours: number[];
  weights: number[];
}

/** The parsed list: what the recommendation policy reads. */
export class ItemNeighbours {
  private readonly rowOf: Map<string, number>;

  constructor(readonly file: ItemNeighboursFile) {
    this.rowOf = new Map(file.items.map((id, row) => [id, row]));
  }

  get method(): string {
    return this.file.method;
  }

  get k(): number {
    return this.file.k;
  }

  get itemCount(): number {
    return this.file.items.length;
  }

  /** Calls `visit` with each neighbour of `itemId` and its weight; nothing for an item outside the list. */
  forEachNeighbour(itemId: string, visit: (neighbourId: string, weight: number) => void): void {
    const row = this.rowOf.get(itemId);
    if (row === undefined) return;
    const { offsets, neighbours, weights, items } = this.file;
    for (let at = offsets[row]!; at < offsets[row + 1]!; at++) visit(items[neighbours[at]!]!, weights[at]!);
  }
}

/**
 * Top-K neighbours per row of an item × item weight matrix given row by row (dense rows at training time; only
 * the K largest positive weights of each are kept).
 */
export function itemNeighboursFromRows(
  items: readonly string[],
  rowWeights: (row: number) => ArrayLike<number>,
  options: { k: number; method: string },
): ItemNeighboursFile {
  if (!Number.isInteger(options.k) || options.k < 1) throw new RangeError(`item neighbours: k must be an integer >= 1, got ${options.k}`);
  const offsets = [0];
  const neighbours: number[] = [];
  const weights: number[] = [];
  for (let i = 0; i < items.length; i++) {
    const row = rowWeights(i);
    const kept: [number, number][] = [];
    for (let j = 0; j < row.length; j++) {
      const w = row[j]!;
      if (j === i || !(w > 0)) continue;
      if (kept.length < options.k) {
        kept.push([j, w]);
        if (kept.length === options.k) kept.sort((a, b) => b[1] - a[1]);
      } else if (w > kept[kept.length - 1]![1]) {
        // Insert in order; K is small (tens), so a shifted array beats a heap here.
        let at = kept.length - 1;
        while (at > 0 && kept[at - 1]![1] < w) at--;
        kept.splice(at, 0, [j, w]);
        kept.pop();
      }
    }
    kept.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    for (const [j, w] of kept) {
      neighbours.push(j);
      // Rounded: the file is JSON, and 6 significant digits rank the same.
      weights.push(Number(w.toPrecision(6)));
    }
    offsets.push(neighbours.length);
  }
  return { format: ITEM_NEIGHBOURS_FORMAT, method: options.method, k: options.k, items: [...items], offsets, neighbours, weights };
}

/** Checks a parsed item-neighbours.json; throws naming what is wrong. */
export function parseItemNeighbours(value: unknown): ItemNeighbours {
  const file = value as Partial<ItemNeighboursFile>;
  const name = "item-neighbours.json";
  if (file?.format !== ITEM_NEIGHBOURS_FORMAT) throw new Error(`${name}: format ${String(file?.format)} is not ${ITEM_NEIGHBOURS_FORMAT}`);
  const { items, offsets, neighbours, weights } = file;
  if (!Array.isArray(items) || !Array.isArray(offsets) || !Array.isArray(neighbours) || !Array.isArray(weights)) {
    throw new Error(`${name}: items, offsets, neighbours and weights must be arrays`);
  }
  if (offsets.length !== items.length + 1 || offsets[0] !== 0 || offsets[items.length] !== neighbours.length) {
    throw new Error(`${name}: ${offsets.length} offsets for ${items.length} items (need items + 1, from 0 to ${neighbours.length})`);
  }
  if (weights.length !== neighbours.length) throw new Error(`${name}: ${weights.length} weights for ${neighbours.length} neighbours`);
  for (let i = 0; i < items.length; i++) {
    if (!(offsets[i + 1]! >= offsets[i]!)) throw new Error(`${name}: offsets decrease at item row ${i}`);
  }
  for (const row of neighbours) {
    if (!Number.isInteger(row) || row < 0 || row >= items.length) throw new Error(`${name}: neighbour row ${row} is outside 0..${items.length - 1}`);
  }
  return new ItemNeighbours(file as ItemNeighboursFile);
}
