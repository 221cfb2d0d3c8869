// Test helpers other packages' tests use against a real registry backend: the MLflow server (vitest global
// setup) and an HTTP proxy in front of it that injects outages.
export { default as mlflowGlobalSetup } from "./mlflow-global-setup.js";
export { startFaultProxy } from "./start-fault-proxy.js";
export type { FaultProxy } from "./start-fault-proxy.js";
