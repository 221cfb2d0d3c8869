import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "bench/**/*.test.ts"],
    // A real Milvus (milvus-lite) for the Milvus backend; skipped with a warning locally when not installed.
    globalSetup: ["./src/test-support/milvus-global-setup.ts"],
    // Tests train one tiny model (tfjs on WASM) once per file; the 5 s default is too tight on 2 shared cores.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
