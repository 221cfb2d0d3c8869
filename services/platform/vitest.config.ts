import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The first start trains the first-run model (tfjs on WASM) on 2 shared cores.
    testTimeout: 180_000,
  },
});
