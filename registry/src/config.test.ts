import path from "node:path";
import { describe, expect, it } from "vitest";
import { readRegistryConfig, registryFromConfig } from "./config.js";
import { InvalidArgumentError } from "./errors.js";

describe("readRegistryConfig", () => {
  it("defaults to the file backend under .data/registry in the cwd", () => {
    const config = readRegistryConfig({ FUNNEL_REGISTRY_ACTOR: "ci" }, "/srv/app");
    expect(config).toEqual({ backend: "file", dataDir: path.resolve("/srv/app/.data/registry"), mlflowUrl: undefined, actor: "ci" });
    expect(registryFromConfig(config).backend).toBe("file");
    expect(readRegistryConfig({}, "/srv/app").actor).toMatch(/@/);
  });

  it("reads the MLflow backend and an explicit data dir", () => {
    const config = readRegistryConfig(
      { FUNNEL_REGISTRY: "mlflow", MLFLOW_TRACKING_URI: "http://mlflow:5000", FUNNEL_REGISTRY_DIR: "/var/reg" },
      "/srv/app",
    );
    expect(config).toMatchObject({ backend: "mlflow", mlflowUrl: "http://mlflow:5000", dataDir: "/var/reg" });
    const registry = registryFromConfig(config);
    expect([registry.backend, registry.location]).toEqual(["mlflow", "http://mlflow:5000"]);
  });

  it("treats an empty variable as unset", () => {
    expect(readRegistryConfig({ FUNNEL_REGISTRY: "", FUNNEL_REGISTRY_DIR: "", FUNNEL_REGISTRY_ACTOR: "ci" }, "/srv/app")).toMatchObject({
      backend: "file",
      dataDir: path.resolve("/srv/app/.data/registry"),
    });
  });

  it("names the variable to fix", () => {
    expect(() => readRegistryConfig({ FUNNEL_REGISTRY: "s3" })).toThrow(/invalid env FUNNEL_REGISTRY \(backend\): must be one of file, mlflow, got "s3"/);
    expect(() => readRegistryConfig({ FUNNEL_REGISTRY: "s3" })).toThrow(InvalidArgumentError);
    expect(() => readRegistryConfig({ FUNNEL_REGISTRY: "mlflow" })).toThrow(/set MLFLOW_TRACKING_URI/);
    expect(() => readRegistryConfig({ FUNNEL_REGISTRY: "mlflow", MLFLOW_TRACKING_URI: "file:///tmp/mlruns" })).toThrow(InvalidArgumentError);
  });
});
