import { createLogger, errorToStatus } from "@funnel/runtime";
import { describe, expect, it } from "vitest";
import {
  DimensionMismatchError,
  IndexNotFoundError,
  IndexStateError,
  VectorIndexError,
  VectorStoreUnavailableError,
  VersionMismatchError,
} from "./errors.js";

describe("vector-index errors through the runtime's error boundary", () => {
  const log = createLogger("silent");

  it("keep their gRPC code and caller-facing message", () => {
    const cases: [Error, number][] = [
      [new VersionMismatchError("two-tower v3 (users)", "two-tower v2"), 3],
      [new DimensionMismatchError("two-tower v3 (users)", "queries[0]", 128, 64), 3],
      [new IndexNotFoundError("no saved HNSW index at x"), 5],
      [new IndexStateError("backfill incomplete"), 9],
      [new VectorStoreUnavailableError("Milvus at m:19530 is unreachable; retry"), 14],
    ];
    for (const [error, code] of cases) expect(errorToStatus(error, log)).toMatchObject({ code, details: error.message });
  });

  it("hide the message of an unclassified error (INTERNAL, generic text)", () => {
    expect(errorToStatus(new VectorIndexError("Milvus refused search: segment 7 corrupt"), log)).toMatchObject({
      code: 13,
      details: "internal error; the server logged the details",
    });
  });
});
