import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "bench/**/*.test.ts"],
    globalSetup: ["./src/test-support/mlflow-global-setup.ts"],
    // Tests train one tiny model (tfjs on WASM) once per file; the 5 s default is too tight on 2 shared cores.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
