// Just enough protobuf wire reading to route a call without decoding it: the user id a request is about
// and the model version an answer came from. Each reads a path of top-level field numbers and skips the
// rest, so a large request (a batch of vectors) costs a scan of its tags, not a decode.
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

/**
 * The first string at `path` (field numbers from the top: [1, 1] is the first `users[].user_id` of
 * EmbedUsersRequest); undefined when absent (e.g. that input is a feature row) or when the bytes are
 * malformed (the upstream reports those with its own INVALID_ARGUMENT).
 */
export function stringAt(bytes: Uint8Array, path: readonly number[]): string | undefined {
  try {
    return find(bytes, path, 0);
  } catch {
    return undefined;
  }
}

function find(bytes: Uint8Array, path: readonly number[], depth: number): string | undefined {
  const reader = new BinaryReader(bytes);
  const wanted = path[depth]!;
  const last = depth === path.length - 1;
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field !== wanted || wireType !== WireType.LengthDelimited) {
      reader.skip(wireType, field);
      continue;
    }
    if (last) return reader.string();
    // The first occurrence of a repeated message decides (first users[] entry); a later one is not tried.
    return find(reader.bytes(), path, depth + 1);
  }
  return undefined;
}
