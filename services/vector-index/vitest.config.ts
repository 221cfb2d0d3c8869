import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globalSetup: ["./src/test-support/milvus-global-setup.ts"],
    // Index builds and a real Milvus server on shared CPUs.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
