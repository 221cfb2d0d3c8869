// Files mounted from Kubernetes Secrets change by a symlink swap, never an in-place write, and not all at the
// same moment (a certificate and its key may briefly disagree). So the files are polled and compared by
// content, and a new set is taken only once it parses and validates as a whole; until then the last good
// set stays in force and the reason is logged (once per distinct reason).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import { ConfigError } from "@funnel/settings";

export interface WatchedFilesOptions<T> {
  /** What the files are, for logs and errors, e.g. "TLS certificate". */
  what: string;
  files: readonly string[];
  /** Builds the value from the files' contents (in `files` order); throws an Error saying what is wrong. */
  parse(contents: Buffer[]): T;
  intervalMs: number;
  log: Logger;
  /** Told of every new valid value after the first. */
  onChange?(value: T): void;
  /** A log-safe description of a new value (e.g. a fingerprint, a caller count); never the secret itself. */
  describe?(value: T): Record<string, unknown>;
}

export class WatchedFiles<T> {
  private value: T;
  private digest: string;
  private timer: NodeJS.Timeout | undefined;
  private lastProblem = "";

  /** Reads and parses the files once; a problem is a ConfigError (start-up stops naming the files). */
  constructor(private readonly options: WatchedFilesOptions<T>) {
    let contents: Buffer[];
    try {
      contents = options.files.map((file) => readFileSync(file));
    } catch (error) {
      throw new ConfigError(`${options.what}: cannot read ${(error as NodeJS.ErrnoException).path ?? options.files.join(", ")} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    try {
      this.value = options.parse(contents);
    } catch (error) {
      throw new ConfigError(`${options.what} (${options.files.join(", ")}): ${(error as Error).message}`);
    }
    this.digest = digestOf(contents);
  }

  get current(): T {
    return this.value;
  }

  /** Starts polling; the timer does not keep the process alive. */
  watch(): this {
    if (!this.timer) {
      this.timer = setInterval(() => void this.check(), this.options.intervalMs);
      this.timer.unref();
    }
    return this;
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Re-reads the files now; resolves true when a new valid value was taken. */
  async check(): Promise<boolean> {
    let contents: Buffer[];
    try {
      contents = await Promise.all(this.options.files.map((file) => readFile(file)));
    } catch (error) {
      this.problem(`cannot read ${(error as NodeJS.ErrnoException).path ?? "a file"} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      return false;
    }
    const digest = digestOf(contents);
    if (digest === this.digest) return false;
    let value: T;
    try {
      value = this.options.parse(contents);
    } catch (error) {
      this.problem((error as Error).message);
      return false;
    }
    this.value = value;
    this.digest = digest;
    this.lastProblem = "";
    this.options.log.info({ files: this.options.files, ...this.options.describe?.(value) }, `${this.options.what} reloaded`);
    this.options.onChange?.(value);
    return true;
  }

  private problem(reason: string): void {
    if (reason === this.lastProblem) return;
    this.lastProblem = reason;
    this.options.log.warn({ files: this.options.files, reason }, `${this.options.what} changed but cannot be used; the last good one stays in force`);
  }
}

function digestOf(contents: Buffer[]): string {
  const hash = createHash("sha256");
  for (const content of contents) hash.update(createHash("sha256").update(content).digest());
  return hash.digest("hex");
}
