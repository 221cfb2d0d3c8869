import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The first RuleScorer.load() in a worker parses the Hunspell dictionary and the word-frequency list
    // (about a second alone, several on shared CPUs).
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
