// Reads served-recommendation log files (JSON lines) and reports every bad line with its file and line number.
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { parseServedRecommendation, type ServedRecommendation } from "@funnel/two-tower";
import type { RowError } from "../data/index.js";

export interface ServedLogReport {
  files: string[];
  rowsRead: number;
  rowsAccepted: number;
  rowsRejected: number;
  /** One entry per rejected line. */
  errors: RowError[];
}

export async function readServedLog(files: readonly string[]): Promise<{ records: ServedRecommendation[]; report: ServedLogReport }> {
  const records: ServedRecommendation[] = [];
  const report: ServedLogReport = { files: [...files], rowsRead: 0, rowsAccepted: 0, rowsRejected: 0, errors: [] };
  for (const file of files) {
    let line = 0;
    for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY })) {
      line++;
      if (text.trim() === "") continue;
      report.rowsRead++;
      const parsed = parseServedRecommendation(text);
      if ("record" in parsed) {
        records.push(parsed.record);
        report.rowsAccepted++;
      } else {
        report.rowsRejected++;
        report.errors.push({ file, line, reason: parsed.reason });
      }
    }
  }
  return { records, report };
}
