export { checkHealth, listServicesByReflection, fileContainingSymbolByReflection } from "./grpc-probes.js";
export type { HealthStatus } from "./grpc-probes.js";
