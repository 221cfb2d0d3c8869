import { pino, type Logger } from "pino";

/**
 * JSON logs to stdout; one logger per process, children per service and call. `destination` (tests) takes
 * the lines instead.
 */
export function createLogger(level: string, name = "funnel", destination?: { write(line: string): void }): Logger {
  const options = { name, level, base: { pid: process.pid } };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
