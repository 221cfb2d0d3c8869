import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globalSetup: ["./src/test-support/mlflow-global-setup.ts"],
    // Registrations hash and copy real files and talk to a real MLflow server on shared CPUs.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
