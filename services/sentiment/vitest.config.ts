import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // End-to-end tests spawn grpcurl and real servers on a shared 2-core machine; 5 s is too tight there.
    // The first RuleScorer.load() in a worker also parses the Hunspell dictionary and the word-frequency list
    // (about a second alone, several on shared CPUs).
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
