import { createReadStream } from "node:fs";
import { extname } from "node:path";
import { createInterface } from "node:readline";
import { parse as parseCsv } from "csv-parse/sync";
import { DataFileError } from "./errors.js";

export type RecordFormat = "csv" | "jsonl";

/** One data row: its 1-based first line, and either its fields or why it could not be parsed. */
export type RawRecord =
  | { line: number; fields: Record<string, unknown>; reason?: undefined }
  | { line: number; fields?: undefined; reason: string };

/**
 * A quoted CSV field may hold line breaks, but an unclosed quote would otherwise swallow the rest of the
 * file into one bad row; past this many lines we report the opening line and re-read what followed.
 */
const MAX_LINES_PER_RECORD = 20;

export function recordFormatOf(path: string): RecordFormat {
  const ext = extname(path).toLowerCase();
  if (ext === ".csv") return "csv";
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  throw new DataFileError(path, 0, `unsupported file extension "${ext}": use .csv (with a header row) or .jsonl`);
}

/**
 * Streams the rows of a CSV (header row first) or JSONL file line by line, never holding the file in memory.
 * Blank lines are not rows and are skipped. A CSV header that is unusable throws, since no row can be read.
 */
export async function* readRecords(
  path: string,
  options: { allowedColumns?: readonly string[]; requiredColumns?: readonly string[] } = {},
): AsyncGenerator<RawRecord> {
  const format = recordFormatOf(path);
  const input = createReadStream(path, { encoding: "utf8" });
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    if (format === "jsonl") yield* readJsonl(lines, path, options.allowedColumns);
    else yield* readCsv(lines, path, options);
  } finally {
    lines.close();
    input.destroy();
  }
}

async function* readJsonl(
  lines: AsyncIterable<string>,
  path: string,
  allowedColumns: readonly string[] | undefined,
): AsyncGenerator<RawRecord> {
  let lineNo = 0;
  for await (const rawText of lines) {
    lineNo++;
    const text = lineNo === 1 ? stripBom(rawText) : rawText;
    if (text.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      yield { line: lineNo, reason: `invalid JSON: ${(error as Error).message}` };
      continue;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      yield { line: lineNo, reason: "expected a JSON object per line" };
      continue;
    }
    const fields = value as Record<string, unknown>;
    if (allowedColumns) {
      const unknown = Object.keys(fields).filter((k) => !allowedColumns.includes(k));
      if (unknown.length > 0) {
        yield { line: lineNo, reason: `unknown field(s) ${unknown.join(", ")}; expected ${allowedColumns.join(", ")}` };
        continue;
      }
    }
    yield { line: lineNo, fields };
  }
}

async function* readCsv(
  lines: AsyncIterable<string>,
  path: string,
  options: { allowedColumns?: readonly string[]; requiredColumns?: readonly string[] },
): AsyncGenerator<RawRecord> {
  const iterator = lines[Symbol.asyncIterator]();
  const pushedBack: { text: string; line: number }[] = [];
  let lineNo = 0;
  const nextLine = async (): Promise<{ text: string; line: number } | undefined> => {
    const back = pushedBack.shift();
    if (back) return back;
    const result = await iterator.next();
    if (result.done) return undefined;
    lineNo++;
    return { text: lineNo === 1 ? stripBom(result.value) : result.value, line: lineNo };
  };

  let header: string[] | undefined;
  for (;;) {
    const first = await nextLine();
    if (!first) break;
    if (first.text.trim() === "") continue;
    const parts = [first];
    let text = first.text;
    let reason: string | undefined;
    while (endsInsideQuotes(text)) {
      if (parts.length >= MAX_LINES_PER_RECORD) {
        reason = `quoted field is not closed within ${MAX_LINES_PER_RECORD} lines`;
        pushedBack.unshift(...parts.slice(1));
        break;
      }
      const next = await nextLine();
      if (!next) {
        reason = "quoted field is never closed (reached end of file)";
        break;
      }
      parts.push(next);
      text += "\n" + next.text;
    }

    let fields: string[] | undefined;
    // Without quotes RFC 4180 reduces to splitting on commas; csv-parse costs ~70 µs per call, which made
    // 150,000 rows take 12 s, so it only sees the rows that need it.
    if (reason === undefined && !text.includes('"')) {
      fields = text.endsWith("\r") ? text.slice(0, -1).split(",") : text.split(",");
    } else if (reason === undefined) {
      try {
        const rows = parseCsv(text, { relax_column_count: true }) as string[][];
        if (rows.length !== 1 || !rows[0]) reason = "could not parse as one CSV record";
        else fields = rows[0];
      } catch (error) {
        // csv-parse counts lines within the record we handed it, which would contradict our file line.
        reason = (error as Error).message.replace(/ at line \d+/g, "");
      }
    }

    if (!header) {
      if (!fields) throw new DataFileError(path, first.line, `header row: ${reason}`);
      header = checkHeader(path, first.line, fields, options);
      continue;
    }
    if (!fields) {
      yield { line: first.line, reason: reason ?? "unparseable row" };
      continue;
    }
    if (fields.length !== header.length) {
      yield { line: first.line, reason: `expected ${header.length} fields (${header.join(",")}), got ${fields.length}` };
      continue;
    }
    const record: Record<string, unknown> = {};
    header.forEach((name, i) => {
      record[name] = fields[i];
    });
    yield { line: first.line, fields: record };
  }
  if (!header) throw new DataFileError(path, 1, "file is empty: expected a header row");
}

function checkHeader(
  path: string,
  line: number,
  columns: string[],
  options: { allowedColumns?: readonly string[]; requiredColumns?: readonly string[] },
): string[] {
  const names = columns.map((c) => c.trim());
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) throw new DataFileError(path, line, `header row: column "${duplicate}" appears twice`);
  if (options.allowedColumns) {
    const unknown = names.filter((n) => !options.allowedColumns!.includes(n));
    if (unknown.length > 0) {
      throw new DataFileError(
        path,
        line,
        `header row: unknown column(s) ${unknown.join(", ")}; expected ${options.allowedColumns.join(", ")}`,
      );
    }
  }
  const missing = (options.requiredColumns ?? []).filter((c) => !names.includes(c));
  if (missing.length > 0) {
    throw new DataFileError(path, line, `header row: missing required column(s) ${missing.join(", ")}`);
  }
  return names;
}

/** True when a CSV text ends inside a quoted field, i.e. the record continues on the next line. */
function endsInsideQuotes(text: string): boolean {
  let inQuotes = false;
  let fieldStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') i++;
        else inQuotes = false;
      }
    } else if (c === ",") {
      fieldStart = true;
    } else {
      // A quote inside an unquoted field is malformed; csv-parse reports it for this row alone.
      if (c === '"' && fieldStart) inQuotes = true;
      fieldStart = false;
    }
  }
  return inQuotes;
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
