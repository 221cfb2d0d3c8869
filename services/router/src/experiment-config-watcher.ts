// Hot reload of the experiment file. A ConfigMap volume updates by swapping a `..data` symlink in the mounted
// directory (the file itself is never written in place), so the directory is watched, not the file; every
// event (there are several per update) is debounced and the file re-read. An invalid file is logged with
// its reasons and ignored: the last good config stays in force.
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "@funnel/runtime";
import { parseExperimentConfig, type ExperimentConfig } from "./experiment-config.js";

export interface ExperimentConfigWatcherOptions {
  file: string;
  debounceMs: number;
  log: Logger;
  /** Puts a valid config in force. */
  apply: (config: ExperimentConfig) => void;
}

export class ExperimentConfigWatcher {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastText: string | undefined;
  private reading: Promise<void> = Promise.resolve();
  /** Why the last changed file was rejected; undefined once a valid one is applied. */
  lastError: string | undefined;

  constructor(private readonly options: ExperimentConfigWatcherOptions) {}

  /** Reads, validates and applies the file once; throws (ExperimentConfigError) if it is invalid. */
  async load(): Promise<void> {
    const text = await readFile(this.options.file, "utf8");
    this.options.apply(parseExperimentConfig(text, this.options.file));
    this.lastText = text;
  }

  /** Starts watching the file's directory. */
  watch(): void {
    this.watcher = watch(path.dirname(this.options.file), () => this.schedule());
    this.watcher.on("error", (error) => this.options.log.error({ err: error }, "watching the experiment config failed; changes are no longer picked up"));
    this.watcher.unref();
  }

  close(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
  }

  /** Resolves once a pending re-read (if any) is done; for tests and shutdown. */
  settled(): Promise<void> {
    return this.reading;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.reading = this.reading.then(() => this.reload());
    }, this.options.debounceMs);
    this.timer.unref();
  }

  private async reload(): Promise<void> {
    const { file, log } = this.options;
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      // Mid-swap the file can be briefly missing; the next event re-reads it.
      log.warn({ err: error, file }, "experiment config not readable; keeping the config in force");
      return;
    }
    if (text === this.lastText) return;
    try {
      this.options.apply(parseExperimentConfig(text, file));
      this.lastText = text;
      this.lastError = undefined;
      log.info({ file }, "experiment config reloaded");
    } catch (error) {
      this.lastText = text;
      this.lastError = (error as Error).message;
      log.error({ file, reason: this.lastError }, "experiment config rejected; the last good config stays in force");
    }
  }
}
