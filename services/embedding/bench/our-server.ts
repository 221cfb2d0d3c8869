// Our EmbeddingService for the benchmark, as one Deployment runs it: the module under runServices, settings
// from argv only (no environment leaks into a measurement). Child process entry: prints
// {"ready":true,"port":N,"metricsPort":M} once its models are loaded; stops (draining) on SIGTERM.
// `--bench-cpu-profile <file>` (taken off argv before the service sees it) profiles the serving steady state:
// from ready to SIGTERM, without start-up (module loading, model load) that `node --cpu-prof` would include.
import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { runServices } from "@funnel/runtime";
import { embeddingModule } from "../src/embedding-module.js";
import { announceReady, stopOnSigterm } from "@funnel/loadtest";

const PROFILE_FLAG = "--bench-cpu-profile";

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const at = argv.indexOf(PROFILE_FLAG);
  const profileFile = at >= 0 ? argv.splice(at, 2)[1] : undefined;
  const running = await runServices([embeddingModule], { env: {}, argv });
  const session = profileFile ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
  }
  announceReady({ port: running.port, metricsPort: running.metricsPort });
  stopOnSigterm(async () => {
    if (session && profileFile) {
      const { profile } = await session.post("Profiler.stop");
      await writeFile(profileFile, JSON.stringify(profile));
    }
    await running.shutdown();
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
