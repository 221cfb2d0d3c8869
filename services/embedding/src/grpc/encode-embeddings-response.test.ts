import { EmbedItemsResponse, EmbedUsersResponse } from "@funnel/proto";
import { describe, expect, it } from "vitest";
import { encodeEmbeddingsResponse } from "./encode-embeddings-response.js";

const generated = (response: EmbedUsersResponse) => Buffer.from(EmbedUsersResponse.encode(response).finish());

function vector(dim: number, seed: number): Float32Array {
  const v = new Float32Array(dim);
  for (let k = 0; k < dim; k++) v[k] = Math.sin(seed * 31 + k) * 10 ** ((k % 7) - 3);
  return v;
}

/** Float32Array values as the handlers send them; the generated encoder only iterates them. */
const asValues = (v: Float32Array) => v as unknown as number[];

describe("encodeEmbeddingsResponse", () => {
  it("writes the same bytes as the generated encoder, whatever the sizes (varint lengths of 1-3 bytes)", () => {
    for (const dim of [0, 1, 31, 32, 128, 5000]) {
      for (const count of [0, 1, 8, 40]) {
        const response: EmbedUsersResponse = {
          embeddings: Array.from({ length: count }, (_, i) => ({ id: i % 3 === 0 ? "" : `user-${"é".repeat(i)}${i}`, vector: { values: asValues(vector(dim, i)) } })),
          model: { name: "two-tower", version: String(dim + count) },
        };
        const ours = encodeEmbeddingsResponse(response);
        expect(ours.equals(generated(response)), `dim ${dim}, ${count} embeddings`).toBe(true);
        // And it decodes back to the vectors sent (float32 exact).
        const decoded = EmbedUsersResponse.decode(ours);
        expect(decoded.embeddings.length).toBe(count);
        decoded.embeddings.forEach((e, i) => {
          expect(Float32Array.from(e.vector?.values ?? [])).toEqual(vector(dim, i));
        });
      }
    }
  });

  it("matches on absent parts and special floats: no model, no vector, empty names, plain number arrays, NaN and infinities", () => {
    const cases: EmbedUsersResponse[] = [
      { embeddings: [], model: undefined },
      { embeddings: [{ id: "a", vector: undefined }], model: { name: "", version: "" } },
      { embeddings: [{ id: "", vector: { values: [] } }], model: { name: "m", version: "" } },
      { embeddings: [{ id: "x", vector: { values: [1.5, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-45, 3.4e38] } }], model: undefined },
      { embeddings: [{ id: "n", vector: { values: asValues(new Float32Array([Number.NaN, 0, -1])) } }], model: { name: "m", version: "7" } },
    ];
    for (const response of cases) expect(encodeEmbeddingsResponse(response).equals(generated(response)), JSON.stringify(response)).toBe(true);
  });

  it("encodes EmbedItemsResponse (same layout) as its generated encoder does", () => {
    const response: EmbedItemsResponse = {
      embeddings: [{ id: "item-00001", vector: { values: asValues(vector(64, 1)) } }, { id: "item-00002", vector: { values: asValues(vector(64, 2)) } }],
      model: { name: "two-tower", version: "3" },
    };
    expect(encodeEmbeddingsResponse(response).equals(Buffer.from(EmbedItemsResponse.encode(response).finish()))).toBe(true);
  });

  it("copies a vector that is a view into a larger buffer from its own offset", () => {
    const backing = vector(300, 9);
    const view = backing.subarray(17, 17 + 128);
    const response: EmbedUsersResponse = { embeddings: [{ id: "v", vector: { values: asValues(view) } }], model: undefined };
    expect(encodeEmbeddingsResponse(response).equals(generated(response))).toBe(true);
  });
});
