import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "bench/**/*.test.ts"],
    // Model tests train tiny models on a shared 2-core machine; the per-test default of 5 s is too tight.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
