import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The k6 and soak tests each start the embedded platform and hold latency bounds: one file at a time, so
    // neither measures the other's CPU on the test machine's shared cores.
    fileParallelism: false,
  },
});
