import { createWriteStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import { once } from "node:events";
import { finished } from "node:stream/promises";
import type { InteractionEvent } from "@funnel/two-tower";
import { EVENT_COLUMNS } from "./load-events.js";
import { recordFormatOf } from "./read-records.js";

/** Writes events as CSV (header row) or JSONL, chosen by the file extension; loadEvents reads both back. */
export async function writeEvents(path: string, events: InteractionEvent[]): Promise<void> {
  const format = recordFormatOf(path);
  const out = createWriteStream(path, { encoding: "utf8" });
  const write = async (chunk: string): Promise<void> => {
    // Respect backpressure so writing a few hundred thousand rows does not buffer them all in memory.
    if (!out.write(chunk)) await once(out, "drain");
  };
  if (format === "csv") await write(EVENT_COLUMNS.join(",") + "\n");
  let batch = "";
  for (let i = 0; i < events.length; i++) {
    batch += (format === "csv" ? toCsvRow(events[i]!) : toJsonLine(events[i]!)) + "\n";
    if (batch.length > 64 * 1024) {
      await write(batch);
      batch = "";
    }
  }
  out.end(batch);
  await finished(out);
}

function toJsonLine(e: InteractionEvent): string {
  return JSON.stringify({
    user_id: e.userId,
    session_id: e.sessionId,
    timestamp: e.timestamp,
    device: e.device,
    page: e.page,
    interaction: e.interaction,
    duration_s: e.durationSeconds,
    item_id: e.itemId,
    converted: e.converted,
    ...(e.text !== undefined ? { text: e.text } : {}),
  });
}

function toCsvRow(e: InteractionEvent): string {
  return [
    e.userId,
    e.sessionId,
    String(e.timestamp),
    e.device,
    e.page,
    e.interaction,
    String(e.durationSeconds),
    e.itemId,
    e.converted ? "1" : "0",
    e.text ?? "",
  ]
    .map(csvField)
    .join(",");
}

/** RFC 4180 quoting, only where needed. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Writes an attribute table (item or user) as CSV: the key column first, then every other column met. */
export async function writeAttributeTable(path: string, keyColumn: string, key: string, rows: Record<string, unknown>[]): Promise<void> {
  const columns: string[] = [];
  for (const row of rows) for (const name of Object.keys(row)) if (name !== key && !columns.includes(name)) columns.push(name);
  const lines = [[keyColumn, ...columns].map(csvField).join(",")];
  for (const row of rows) lines.push([String(row[key]), ...columns.map((c) => (row[c] === undefined ? "" : String(row[c])))].map(csvField).join(","));
  await writeFile(path, `${lines.join("\n")}\n`);
}
