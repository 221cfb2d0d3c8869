// The conversion head stored beside the two-tower model: P(the session converts | user embedding, current
// page, device), a logistic regression trained with the towers. Shared by training (writes it) and serving
// (GuideNextStep reads it) so both compute the same probability from the same inputs.
import { DEVICES, type Device, PAGES, type Page } from "./event.js";

export const CONVERSION_HEAD_FORMAT = 1;

export interface ConversionHead {
  format: typeof CONVERSION_HEAD_FORMAT;
  /** Embedding dimension the weights expect. */
  dim: number;
  /** dim embedding weights, then one per page (PAGES order), then one per device (DEVICES order). */
  weights: number[];
  bias: number;
  /** Share of training examples at each page whose session converted: the baseline and the fallback. */
  baseRates: Record<Page, number>;
  /** Share over all pages, for a page never seen in training. */
  overallRate: number;
}

/** Length of the head's input vector for an embedding of `dim`. */
export function conversionInputSize(dim: number): number {
  return dim + PAGES.length + DEVICES.length;
}

/** Writes the head's input (embedding, page one-hot, device one-hot) into `out` at `offset`. */
export function conversionInput(embedding: ArrayLike<number>, page: Page | undefined, device: Device | undefined, out: Float64Array, offset = 0): void {
  const dim = embedding.length;
  for (let d = 0; d < dim; d++) out[offset + d] = embedding[d]!;
  out.fill(0, offset + dim, offset + conversionInputSize(dim));
  if (page) out[offset + dim + PAGES.indexOf(page)] = 1;
  if (device) out[offset + dim + PAGES.length + DEVICES.indexOf(device)] = 1;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** P(convert) for one user embedding in one context. */
export function predictConversion(head: ConversionHead, embedding: ArrayLike<number>, page: Page | undefined, device: Device | undefined): number {
  if (embedding.length !== head.dim) throw new RangeError(`conversion head expects dimension ${head.dim}, got ${embedding.length}`);
  const x = new Float64Array(conversionInputSize(head.dim));
  conversionInput(embedding, page, device, x);
  let z = head.bias;
  for (let i = 0; i < x.length; i++) z += head.weights[i]! * x[i]!;
  return sigmoid(z);
}

/** Checks a parsed conversion-head.json; throws naming what is wrong (the version is then refused). */
export function parseConversionHead(value: unknown): ConversionHead {
  const head = value as Partial<ConversionHead>;
  if (head?.format !== CONVERSION_HEAD_FORMAT) throw new Error(`conversion-head.json: format ${String(head?.format)} is not ${CONVERSION_HEAD_FORMAT}`);
  if (!Number.isInteger(head.dim) || !Array.isArray(head.weights) || head.weights.length !== conversionInputSize(head.dim!)) {
    throw new Error(`conversion-head.json: expected ${conversionInputSize(head.dim ?? 0)} weights for dim ${String(head.dim)}`);
  }
  if (!head.weights.every(Number.isFinite) || !Number.isFinite(head.bias) || typeof head.baseRates !== "object" || !Number.isFinite(head.overallRate)) {
    throw new Error("conversion-head.json: weights, bias, baseRates and overallRate must be finite numbers");
  }
  return head as ConversionHead;
}
