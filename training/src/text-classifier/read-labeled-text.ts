import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { DataFileError } from "../data/errors.js";

/** One labeled text; `line` is 1-based in its file (a header counts as line 1). */
export interface LabeledText {
  text: string;
  /** Class index 0..numLabels-1. */
  label: number;
  line: number;
}

export interface LabeledTextFile {
  file: string;
  hasHeader: boolean;
  rows: LabeledText[];
  /** Rows that could not be used, each with the reason; never dropped silently. */
  bad: { file: string; line: number; reason: string }[];
}

const TEXT_COLUMNS = ["text", "sentence", "review", "content"];

/**
 * Reads `text, label` rows from a TSV (`.tsv`, `.txt`: TAB-separated, no quoting, the label after the last
 * TAB) or a CSV (`.csv`, RFC 4180 quoting). A first row whose label cell is not an integer is a header; with a
 * header the text column is the first of text/sentence/review/content and the label column is `label`.
 * Labels are class indices 0..numLabels-1.
 */
export async function readLabeledText(file: string, options: { numLabels?: number; strict?: boolean } = {}): Promise<LabeledTextFile> {
  let content: string;
  try {
    content = await readFile(file, "utf8");
  } catch (error) {
    throw new DataFileError(file, 0, `cannot read labeled data: ${(error as Error).message}`);
  }
  const ext = extname(file).toLowerCase();
  const records: { line: number; cells: string[] }[] = [];
  if (ext === ".csv") {
    const parsed = parseCsv(content, { relax_column_count: true, skip_empty_lines: true, info: true, raw: true }) as unknown as {
      record: string[];
      raw: string;
      info: { lines: number };
    }[];
    // info.lines is where a record ends; a quoted field with line breaks starts earlier, and that is the line to report.
    for (const { record, raw, info } of parsed) {
      const breaks = raw.replace(/\r?\n$/, "").split("\n").length - 1;
      records.push({ line: info.lines - breaks, cells: record });
    }
  } else if (ext === ".tsv" || ext === ".txt") {
    // Split on "\n" only: review text can hold U+0085 and stray quotes that line readers and CSV parsers treat as structure.
    const lines = content.split("\n");
    for (const [i, raw] of lines.entries()) {
      const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (text.trim() === "") continue;
      const tab = text.lastIndexOf("\t");
      records.push({ line: i + 1, cells: tab === -1 ? [text] : [...text.slice(0, tab).split("\t"), text.slice(tab + 1)] });
    }
  } else {
    throw new DataFileError(file, 0, `unsupported extension "${ext}": use .tsv, .txt (text<TAB>label) or .csv`);
  }
  const result: LabeledTextFile = { file, hasHeader: false, rows: [], bad: [] };
  let textColumn = 0;
  let labelColumn = -1;
  const first = records[0];
  if (first && !/^-?\d+$/.test((first.cells.at(-1) ?? "").trim())) {
    const header = first.cells.map((c) => c.trim().toLowerCase());
    textColumn = header.findIndex((c) => TEXT_COLUMNS.includes(c));
    labelColumn = header.indexOf("label");
    if (textColumn === -1 || labelColumn === -1) {
      throw new DataFileError(file, first.line, `header ${JSON.stringify(first.cells)} needs a "label" column and one of ${TEXT_COLUMNS.join(", ")}`);
    }
    result.hasHeader = true;
    records.shift();
  }
  const numLabels = options.numLabels ?? 2;
  for (const { line, cells } of records) {
    const text = (cells[textColumn] ?? "").trim();
    const labelCell = (labelColumn === -1 ? cells.length > 1 ? cells.at(-1) : undefined : cells[labelColumn])?.trim();
    const label = Number(labelCell);
    const reason =
      labelCell === undefined
        ? "no label: expected text<TAB>label"
        : !Number.isInteger(label) || label < 0 || label >= numLabels
          ? `label must be an integer 0..${numLabels - 1}, got ${JSON.stringify(labelCell)}`
          : text === ""
            ? "empty text"
            : undefined;
    if (reason === undefined) result.rows.push({ text, label, line });
    else if (options.strict) throw new DataFileError(file, line, reason);
    else result.bad.push({ file, line, reason });
  }
  return result;
}
