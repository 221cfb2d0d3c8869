/**
 * A data file that cannot be used as given. The message always starts with `file:line:` so an editor or
 * terminal can jump to the spot; `line` is 1-based, counting the header row of a CSV file.
 */
export class DataFileError extends Error {
  readonly file: string;
  readonly line: number;
  readonly reason: string;

  constructor(file: string, line: number, reason: string) {
    super(`${file}:${line}: ${reason}`);
    this.name = "DataFileError";
    this.file = file;
    this.line = line;
    this.reason = reason;
  }
}
