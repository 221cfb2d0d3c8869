import { readFileSync } from "node:fs";

/** One labeled sentence; `line` is 1-based in its file. */
export interface LabeledRow {
  text: string;
  label: 0 | 1;
  line: number;
}

/** A row that could not be used, with the place to fix it. */
export interface BadRow {
  file: string;
  line: number;
  reason: string;
}

export interface LabeledTsv {
  file: string;
  hasHeader: boolean;
  rows: LabeledRow[];
  bad: BadRow[];
}

/**
 * Parses `text<TAB>label` lines (label 0 or 1). Splits on "\n" only: review text can hold U+0085 and
 * unbalanced quotes, which line readers and CSV parsers would treat as structure. The label is after the
 * last TAB so a TAB inside the text cannot shift it. A header line is recognised by a non-numeric label.
 */
export function parseLabeledTsv(content: string, file: string): LabeledTsv {
  const lines = content.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const result: LabeledTsv = { file, hasHeader: false, rows: [], bad: [] };
  for (const [index, rawLine] of lines.entries()) {
    const line = index + 1;
    const text = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    const tab = text.lastIndexOf("\t");
    const label = tab === -1 ? "" : text.slice(tab + 1).trim();
    if (index === 0 && tab !== -1 && /^[A-Za-z_][\w ]*$/.test(label)) {
      result.hasHeader = true;
      continue;
    }
    const sentence = tab === -1 ? "" : text.slice(0, tab).trim();
    const reason =
      text.trim() === ""
        ? "empty line"
        : tab === -1
          ? "no TAB between text and label"
          : label !== "0" && label !== "1"
            ? `label must be 0 or 1, got ${JSON.stringify(label)}`
            : sentence === ""
              ? "empty text before the TAB"
              : undefined;
    if (reason !== undefined) result.bad.push({ file, line, reason });
    else result.rows.push({ text: sentence, label: label === "1" ? 1 : 0, line });
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
