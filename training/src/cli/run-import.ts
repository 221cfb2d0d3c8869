import { mkdir } from "node:fs/promises";
import path from "node:path";
import { InvalidArgumentError } from "commander";
import {
  type ColumnMapping,
  type ImportSummary,
  importInteractions,
  ONLINE_RETAIL_MAPPING,
  SKIP_REASONS,
  writeAttributeTable,
  writeEvents,
} from "../data/index.js";
import { progressBar } from "./training-progress.js";

export interface ImportFlags {
  in: string;
  out: string;
  itemsOut?: string;
  usersOut?: string;
  user?: string;
  item?: string;
  time?: string;
  timeFormat: "iso" | "s" | "ms";
  session?: string;
  value?: string;
  minValue?: number;
  category?: string;
  categorySeparator: string;
  itemAttributes?: string[];
  userAttributes?: string[];
  progress: boolean;
}

/** Skipped rows shown per reason (all are counted; the first ones are enough to see what is wrong). */
const SHOWN_PER_REASON = 3;

/** `import`: a foreign log to events + item/user attribute tables, with every skipped row accounted for. */
export async function runImport(
  format: "online-retail" | "csv",
  flags: ImportFlags,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<Omit<ImportSummary, "errors"> & { out: string; itemsOut: string; usersOut: string }> {
  const mapping = format === "online-retail" ? ONLINE_RETAIL_MAPPING : csvMapping(flags);
  const bar = progressBar("rows", 0, flags.progress);
  let imported: Awaited<ReturnType<typeof importInteractions>>;
  try {
    imported = await importInteractions(flags.in, mapping, { onProgress: (rows) => bar.update(rows) });
  } finally {
    bar.stop();
  }
  const { summary } = imported;
  log(`read ${summary.rowsRead} rows from ${flags.in}: ${summary.rowsImported} imported, ${summary.rowsRead - summary.rowsImported} skipped`);
  for (const reason of SKIP_REASONS) {
    const rows = summary.errors.filter((e) => e.reason.startsWith(`${reason}:`));
    if (rows.length === 0) continue;
    log(`  ${reason}: ${rows.length} rows`);
    for (const e of rows.slice(0, SHOWN_PER_REASON)) log(`    ${e.file}:${e.line}: ${e.reason}`);
  }
  if (summary.rowsImported === 0) throw new Error(`no usable rows in ${flags.in}; nothing written`);
  const base = flags.out.replace(/\.(csv|jsonl|ndjson)$/i, "");
  const itemsOut = flags.itemsOut ?? `${base}.items.csv`;
  const usersOut = flags.usersOut ?? `${base}.users.csv`;
  await mkdir(path.dirname(path.resolve(flags.out)), { recursive: true });
  await writeEvents(flags.out, imported.events);
  await writeAttributeTable(itemsOut, "item_id", "itemId", imported.items);
  await writeAttributeTable(usersOut, "user_id", "userId", imported.users);
  log(`wrote ${imported.events.length} events (${summary.users} users, ${summary.items} items) to ${flags.out}, ${itemsOut}, ${usersOut}`);
  const { errors: _errors, ...counts } = summary;
  return { ...counts, out: flags.out, itemsOut, usersOut };
}

function csvMapping(flags: ImportFlags): ColumnMapping {
  const missing = (["user", "item", "time"] as const).filter((k) => !flags[k]).map((k) => `--${k} <column>`);
  if (missing.length > 0) throw new InvalidArgumentError(`import csv needs the column mapping: ${missing.join(", ")}`);
  return {
    user: flags.user!,
    item: flags.item!,
    time: flags.time!,
    timeFormat: flags.timeFormat,
    session: flags.session,
    value: flags.value,
    minValue: flags.minValue,
    category: flags.category,
    categorySeparator: flags.categorySeparator,
    itemAttributes: flags.itemAttributes,
    userAttributes: flags.userAttributes,
  };
}
