export { checkHealth, listServicesByReflection, fileContainingSymbolByReflection, fileByFilenameByReflection, reflect } from "./grpc-probes.js";
export type { HealthStatus, ReflectionVersion } from "./grpc-probes.js";
export { discoverFuzzTargets, fuzzServer, isProperAnswer, FUZZ_CASE_KINDS, PROPER_FUZZ_STATUSES } from "./grpc-fuzzer.js";
export type { FuzzTarget, FuzzOptions, FuzzCall, FuzzReport, FuzzCaseKind } from "./grpc-fuzzer.js";
