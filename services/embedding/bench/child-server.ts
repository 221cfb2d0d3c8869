// What the benchmark's server child processes share: how they tell the parent they serve, and how they stop.

/** One JSON line on stdout; the parent waits for it (port and anything worth reporting). */
export function announceReady(details: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ready: true, ...details })}\n`);
}

/**
 * Stops on SIGTERM and exits normally, so `node --cpu-prof` gets to write its profile (it does not on a
 * signal death).
 */
export function stopOnSigterm(stop: () => Promise<void>): void {
  process.once("SIGTERM", () => {
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
        process.exit(1);
      },
    );
  });
}
