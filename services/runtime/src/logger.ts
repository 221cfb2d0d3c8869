import { pino, type Logger } from "pino";

/** JSON logs to stdout; one logger per process, children per service and call. */
export function createLogger(level: string, name = "funnel"): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}

export type { Logger };
