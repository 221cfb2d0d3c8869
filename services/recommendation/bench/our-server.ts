// Our Similarity and Recommendation services for the benchmark, as the embedded platform runs them (one
// indexed slot per version shared by both): the modules under runServices, settings from argv only.
// Child process entry: prints {"ready":true,"port":N} once the version and its indexes are loaded.
import { runServices } from "@funnel/runtime";
import { similarityModule } from "@funnel/similarity";
import { recommendationModule } from "../src/recommendation-module.js";
import { announceReady, stopOnSigterm } from "@funnel/loadtest";

async function main(): Promise<void> {
  const running = await runServices([similarityModule, recommendationModule], { env: {}, argv: process.argv.slice(2) });
  announceReady({ port: running.port });
  stopOnSigterm(() => running.shutdown());
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
