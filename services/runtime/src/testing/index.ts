export { checkHealth, listServicesByReflection, fileContainingSymbolByReflection, fileByFilenameByReflection, reflect } from "./grpc-probes.js";
export type { HealthStatus, ReflectionVersion } from "./grpc-probes.js";
export { TestPki } from "./test-pki.js";
export type { IssuedCertificate } from "./test-pki.js";
export { driftMetricsOf } from "./drift-metrics-of.js";
export { discoverFuzzTargets, fuzzServer, isProperAnswer, FUZZ_CASE_KINDS, PROPER_FUZZ_STATUSES } from "./grpc-fuzzer.js";
export type { FuzzTarget, FuzzOptions, FuzzCall, FuzzReport, FuzzCaseKind } from "./grpc-fuzzer.js";
