// The funnel.v1 API: generated message types and grpc-js service definitions (src/gen, never hand-edited),
// plus where the .proto sources live for proto-loader (server reflection) and tools.
import { fileURLToPath } from "node:url";

export * from "./gen/funnel/v1/common.js";
export * from "./gen/funnel/v1/embedding.js";
export * from "./gen/funnel/v1/similarity.js";
export * from "./gen/funnel/v1/recommendation.js";
export * from "./gen/funnel/v1/sentiment.js";
export * from "./gen/funnel/v1/model_status.js";

/** Directory holding `funnel/v1/*.proto`, for @grpc/proto-loader `includeDirs`. */
export const PROTO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Every funnel.v1 proto file, relative to PROTO_ROOT. */
export const PROTO_FILES = [
  "funnel/v1/common.proto",
  "funnel/v1/embedding.proto",
  "funnel/v1/similarity.proto",
  "funnel/v1/recommendation.proto",
  "funnel/v1/sentiment.proto",
  "funnel/v1/model_status.proto",
] as const;

/**
 * Binary FileDescriptorSets written by `buf build` in the generate task (imports, well-known types and
 * comments included): the funnel.v1 API, and grpc.health.v1 from the grpc-health-check package the runtime
 * serves health with. Server reflection answers from these, so tools see the files as compiled.
 */
export const DESCRIPTOR_SET_FILES = [
  fileURLToPath(new URL("./gen/descriptor-set.binpb", import.meta.url)),
  fileURLToPath(new URL("./gen/health-descriptor-set.binpb", import.meta.url)),
] as const;
