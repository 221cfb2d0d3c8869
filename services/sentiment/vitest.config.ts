import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // End-to-end tests spawn grpcurl and real servers on a shared 2-core machine; 5 s is too tight there.
    testTimeout: 30_000,
  },
});
