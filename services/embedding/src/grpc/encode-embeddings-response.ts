// Wire encoder for EmbedUsersResponse / EmbedItemsResponse, byte-identical to the generated ts-proto encoder
// (checked against it in the test beside this file). The generated one writes each packed float through a
// growing chunk list (one call and a 4-byte copy per float); here the size is computed first, one buffer is
// allocated, and each vector goes in as one block copy of its float32 bytes. It was the largest single cost
// of an EmbedUsers call on the server's main thread.
import os from "node:os";
import type { EmbedItemsResponse, EmbedUsersResponse } from "@funnel/proto";

type EmbeddingsResponse = EmbedUsersResponse | EmbedItemsResponse;

/** Float32Array bytes are the wire's little-endian floats only on a little-endian host. */
const LITTLE_ENDIAN_HOST = os.endianness() === "LE";

// Tags (field number << 3 | wire type 2, length-delimited) of the fields written here.
const TAG_FIELD_1 = 0x0a;
const TAG_FIELD_2 = 0x12;

export function encodeEmbeddingsResponse(response: EmbeddingsResponse): Buffer {
  const { embeddings, model } = response;
  // Sizes of each Embedding body and its Vector body, kept so the write pass does not recompute them.
  const sizes = new Array<number>(embeddings.length * 2);
  let total = 0;
  for (let i = 0; i < embeddings.length; i++) {
    const e = embeddings[i]!;
    let body = stringFieldSize(e.id);
    let vectorBody = -1;
    if (e.vector !== undefined) {
      const floats = e.vector.values.length * 4;
      vectorBody = floats === 0 ? 0 : 1 + varintSize(floats) + floats;
      body += 1 + varintSize(vectorBody) + vectorBody;
    }
    sizes[2 * i] = body;
    sizes[2 * i + 1] = vectorBody;
    total += 1 + varintSize(body) + body;
  }
  let modelBody = -1;
  if (model !== undefined) {
    modelBody = stringFieldSize(model.name) + stringFieldSize(model.version);
    total += 1 + varintSize(modelBody) + modelBody;
  }

  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < embeddings.length; i++) {
    const e = embeddings[i]!;
    out[at++] = TAG_FIELD_1;
    at = writeVarint(out, at, sizes[2 * i]!);
    at = writeStringField(out, at, TAG_FIELD_1, e.id);
    const vectorBody = sizes[2 * i + 1]!;
    if (vectorBody >= 0) {
      out[at++] = TAG_FIELD_2;
      at = writeVarint(out, at, vectorBody);
      const values = e.vector!.values as ArrayLike<number>;
      if (values.length > 0) {
        out[at++] = TAG_FIELD_1;
        at = writeVarint(out, at, values.length * 4);
        at = writeFloats(out, at, values);
      }
    }
  }
  if (model !== undefined) {
    out[at++] = TAG_FIELD_2;
    at = writeVarint(out, at, modelBody);
    at = writeStringField(out, at, TAG_FIELD_1, model.name);
    at = writeStringField(out, at, TAG_FIELD_2, model.version);
  }
  if (at !== total) throw new Error(`embeddings response encoder wrote ${at} bytes, sized ${total}`);
  return out;
}

/** proto3 leaves an empty string out. */
function stringFieldSize(value: string): number {
  if (value === "") return 0;
  const bytes = Buffer.byteLength(value, "utf8");
  return 1 + varintSize(bytes) + bytes;
}

function writeStringField(out: Buffer, at: number, tag: number, value: string): number {
  if (value === "") return at;
  out[at++] = tag;
  at = writeVarint(out, at, Buffer.byteLength(value, "utf8"));
  return at + out.write(value, at, "utf8");
}

function writeFloats(out: Buffer, at: number, values: ArrayLike<number>): number {
  if (LITTLE_ENDIAN_HOST && values instanceof Float32Array) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
    return at + values.byteLength;
  }
  for (let k = 0; k < values.length; k++) at = out.writeFloatLE(values[k]!, at);
  return at;
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value >>>= 7;
    size++;
  }
  return size;
}

function writeVarint(out: Buffer, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[at++] = value;
  return at;
}
