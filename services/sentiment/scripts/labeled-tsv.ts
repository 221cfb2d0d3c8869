import { readFileSync } from "node:fs";
import { PAGE_NAMES, type PageName } from "../src/scoring/index.js";

/** One labeled sentence; `line` is 1-based in its file. */
export interface LabeledRow {
  text: string;
  label: 0 | 1;
  line: number;
  /** funnel page the text was written on (a `page` column; empty = general rules only) */
  page?: PageName;
  /** free grouping for per-category metrics (a `category` column) */
  category?: string;
}

/** A row that could not be used, with the place to fix it. */
export interface BadRow {
  file: string;
  line: number;
  reason: string;
  /** the start of the line as written, so a summary shows what the file looks like */
  excerpt: string;
}

export interface LabeledTsv {
  file: string;
  hasHeader: boolean;
  rows: LabeledRow[];
  bad: BadRow[];
}

const EXCERPT_CHARS = 60;
const PAGES: ReadonlySet<string> = new Set(PAGE_NAMES);

interface Columns {
  text: number;
  label: number;
  page?: number;
  category?: number;
}

/**
 * A header naming `text` and `label` (any order, other columns such as `page`, `category`, `reason` allowed)
 * selects columns by name; any other header (`sentence<TAB>label`) keeps the two-column layout.
 */
function namedColumns(header: string[]): Columns | undefined {
  const names = header.map((name) => name.trim().toLowerCase());
  const text = names.indexOf("text");
  const label = names.indexOf("label");
  if (text === -1 || label === -1) return undefined;
  const optional = (name: string): number | undefined => (names.includes(name) ? names.indexOf(name) : undefined);
  return { text, label, page: optional("page"), category: optional("category") };
}

function excerpt(line: string): string {
  return line.length > EXCERPT_CHARS ? `${line.slice(0, EXCERPT_CHARS)}…` : line;
}

/**
 * Parses `text<TAB>label` lines (label 0 or 1). Splits on "\n" only: review text can hold U+0085 and
 * unbalanced quotes, which line readers and CSV parsers would treat as structure. Without named columns the
 * label is after the last TAB so a TAB inside the text cannot shift it. A header line is recognised by a
 * non-numeric label.
 */
export function parseLabeledTsv(content: string, file: string): LabeledTsv {
  const lines = content.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const result: LabeledTsv = { file, hasHeader: false, rows: [], bad: [] };
  let columns: Columns | undefined;
  for (const [index, rawLine] of lines.entries()) {
    const line = index + 1;
    const text = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    const tab = text.lastIndexOf("\t");
    if (index === 0 && tab !== -1 && /^[A-Za-z_][\w ]*$/.test(text.slice(tab + 1).trim())) {
      result.hasHeader = true;
      columns = namedColumns(text.split("\t"));
      continue;
    }
    const fields = columns ? text.split("\t") : [];
    const label = (columns ? fields[columns.label] : tab === -1 ? "" : text.slice(tab + 1))?.trim() ?? "";
    const sentence = (columns ? fields[columns.text] : tab === -1 ? "" : text.slice(0, tab))?.trim() ?? "";
    const page = columns?.page === undefined ? "" : (fields[columns.page]?.trim() ?? "");
    const reason =
      text.trim() === ""
        ? "empty line"
        : tab === -1
          ? "no TAB between text and label"
          : label !== "0" && label !== "1"
            ? `label must be 0 or 1, got ${JSON.stringify(label)}`
            : sentence === ""
              ? "empty text"
              : page !== "" && !PAGES.has(page)
                ? `page must be empty or one of ${PAGE_NAMES.join(", ")}, got ${JSON.stringify(page)}`
                : undefined;
    if (reason !== undefined) {
      result.bad.push({ file, line, reason, excerpt: excerpt(text) });
      continue;
    }
    const row: LabeledRow = { text: sentence, label: label === "1" ? 1 : 0, line };
    if (page !== "") row.page = page as PageName;
    const category = columns?.category === undefined ? "" : (fields[columns.category]?.trim() ?? "");
    if (category !== "") row.category = category;
    result.rows.push(row);
  }
  return result;
}

/** Reads and parses a labeled TSV file; an unreadable file throws an error naming it. */
export function readLabeledTsv(file: string): LabeledTsv {
  let content: string;
  try {
    content = readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`${file}: cannot read labeled data: ${(error as Error).message}`);
  }
  return parseLabeledTsv(content, file);
}
