// The real MLflow server for the registry-outage test (one per run; skipped with a loud warning when mlflow is
// not installed locally, a failure on CI), started by the registry package's global setup.
export { mlflowGlobalSetup as default } from "@funnel/registry/testing";
