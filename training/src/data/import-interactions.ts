import type { InteractionEvent, ItemAttributes, UserAttributes } from "@funnel/two-tower";
import type { RowError } from "./load-events.js";
import { readRecords } from "./read-records.js";

/**
 * Which columns of a foreign interaction log mean what. Only user, item and time are required; everything
 * the funnel schema has and the log lacks (device, page, duration) gets a fixed value, so a purchase or
 * rating log becomes "one converted product click per row".
 */
export interface ColumnMapping {
  user: string;
  item: string;
  time: string;
  /** How to read `time`: ISO 8601 (no offset = UTC), epoch seconds, epoch milliseconds. */
  timeFormat: "iso" | "s" | "ms";
  /** Groups rows into sessions (an invoice, a basket); without it each user-timestamp is one session. */
  session?: string | undefined;
  /** A quantity or rating; rows below `minValue` are not interactions (returns, dislikes). */
  value?: string | undefined;
  minValue?: number | undefined;
  /** Rows whose `cancelled.column` starts with `cancelled.prefix` undo a purchase: skipped as "cancelled". */
  cancelled?: { column: string; prefix: string } | undefined;
  /** Item ids that are not products (postage, fees, manual adjustments): skipped as "not a product". */
  nonProductItems?: readonly string[] | undefined;
  /** Column holding the item's categories (written to the item table's `category`), split on `categorySeparator`. */
  category?: string | undefined;
  categorySeparator?: string | undefined;
  /** Further columns copied to the item attribute table (first non-empty value per item). */
  itemAttributes?: readonly string[] | undefined;
  /** Columns copied to the user attribute table (first non-empty value per user). */
  userAttributes?: readonly string[] | undefined;
}

/**
 * UCI "Online Retail" (../shared/data/online-retail): customer × product purchases. An invoice is a session;
 * a "C" invoice or a negative quantity is a cancellation; POST, M, D, ... are postage, manual entries and
 * fees, not products.
 */
export const ONLINE_RETAIL_MAPPING: ColumnMapping = {
  user: "CustomerID",
  item: "StockCode",
  time: "InvoiceDate",
  timeFormat: "iso",
  session: "InvoiceNo",
  value: "Quantity",
  minValue: 1,
  cancelled: { column: "InvoiceNo", prefix: "C" },
  nonProductItems: ["POST", "DOT", "M", "m", "D", "C2", "S", "B", "CRUK", "PADS", "AMAZONFEE", "BANK CHARGES", "gift_0001_10", "gift_0001_20", "gift_0001_30", "gift_0001_40", "gift_0001_50"],
  itemAttributes: ["Description"],
  userAttributes: ["Country"],
};

/** Why a row of a foreign log did not become an event; every skipped row has exactly one. */
export const SKIP_REASONS = ["anonymous", "cancelled", "below min value", "not a product", "unparseable"] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export interface ImportSummary {
  file: string;
  rowsRead: number;
  rowsImported: number;
  skipped: Record<SkipReason, number>;
  /** Every skipped row with its 1-based line (header = line 1), reason first: "anonymous: CustomerID is empty". */
  errors: RowError[];
  users: number;
  items: number;
}

export interface ImportedLog {
  events: InteractionEvent[];
  items: ItemAttributes[];
  users: UserAttributes[];
  summary: ImportSummary;
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Reads a foreign CSV/JSONL log through a column mapping; nothing is dropped without a counted reason. */
export async function importInteractions(
  path: string,
  mapping: ColumnMapping,
  options: { onProgress?: (rows: number) => void } = {},
): Promise<ImportedLog> {
  const required = [mapping.user, mapping.item, mapping.time, mapping.session, mapping.value, mapping.category, mapping.cancelled?.column]
    .concat(mapping.itemAttributes ?? [], mapping.userAttributes ?? [])
    .filter((c): c is string => c !== undefined);
  const summary: ImportSummary = {
    file: path,
    rowsRead: 0,
    rowsImported: 0,
    skipped: Object.fromEntries(SKIP_REASONS.map((r) => [r, 0])) as Record<SkipReason, number>,
    errors: [],
    users: 0,
    items: 0,
  };
  const events: InteractionEvent[] = [];
  const items = new Map<string, ItemAttributes>();
  const users = new Map<string, UserAttributes>();
  const nonProduct = new Set(mapping.nonProductItems ?? []);
  const skip = (line: number, reason: SkipReason, detail: string): void => {
    summary.skipped[reason]++;
    summary.errors.push({ file: path, line, reason: `${reason}: ${detail}` });
  };
  for await (const record of readRecords(path, { requiredColumns: [...new Set(required)] })) {
    summary.rowsRead++;
    if (options.onProgress && summary.rowsRead % 10_000 === 0) options.onProgress(summary.rowsRead);
    if (!record.fields) {
      skip(record.line, "unparseable", record.reason);
      continue;
    }
    const f = record.fields;
    const cell = (column: string): string => (f[column] === undefined || f[column] === null ? "" : String(f[column]).trim());
    const problems: string[] = [];
    const itemId = cell(mapping.item);
    if (itemId === "") problems.push(`${mapping.item} is empty`);
    const timestamp = parseTime(cell(mapping.time), mapping.timeFormat);
    if (timestamp === undefined) problems.push(`${mapping.time} ${JSON.stringify(cell(mapping.time))} is not ${TIME_FORMAT_NAMES[mapping.timeFormat]}`);
    let value: number | undefined;
    if (mapping.value) {
      value = Number(cell(mapping.value));
      if (cell(mapping.value) === "" || !Number.isFinite(value)) problems.push(`${mapping.value} ${JSON.stringify(cell(mapping.value))} is not a number`);
    }
    const userId = cell(mapping.user);
    // Order matters: a cancelled anonymous row is reported as cancelled (the more specific fact about it).
    if (mapping.cancelled && cell(mapping.cancelled.column).startsWith(mapping.cancelled.prefix)) {
      skip(record.line, "cancelled", `${mapping.cancelled.column} "${cell(mapping.cancelled.column)}" starts with "${mapping.cancelled.prefix}"`);
    } else if (problems.length > 0) {
      skip(record.line, "unparseable", problems.join("; "));
    } else if (userId === "") {
      skip(record.line, "anonymous", `${mapping.user} is empty`);
    } else if (value !== undefined && mapping.minValue !== undefined && value < mapping.minValue) {
      skip(record.line, "below min value", `${mapping.value} ${value} < ${mapping.minValue}`);
    } else if (nonProduct.has(itemId)) {
      skip(record.line, "not a product", `${mapping.item} "${itemId}" is a non-product code`);
    } else {
      const session = mapping.session ? cell(mapping.session) : "";
      events.push({
        userId,
        sessionId: session === "" ? `${userId}@${timestamp}` : session,
        timestamp: timestamp!,
        device: "desktop",
        page: "product",
        interaction: "click",
        durationSeconds: 0,
        itemId,
        converted: true,
      });
      summary.rowsImported++;
      keepFirst(items, itemId, () => ({ itemId }), f, mapping.itemAttributes, mapping.category, mapping.categorySeparator);
      keepFirst(users, userId, () => ({ userId }), f, mapping.userAttributes);
    }
  }
  options.onProgress?.(summary.rowsRead);
  summary.users = users.size;
  summary.items = items.size;
  return { events, items: [...items.values()], users: [...users.values()], summary };
}

const TIME_FORMAT_NAMES: Record<ColumnMapping["timeFormat"], string> = {
  iso: "an ISO 8601 date-time",
  s: "epoch seconds",
  ms: "epoch milliseconds",
};

function parseTime(text: string, format: ColumnMapping["timeFormat"]): number | undefined {
  if (format !== "iso") {
    if (!/^\d+(\.\d+)?$/.test(text)) return undefined;
    return Math.round(Number(text) * (format === "s" ? 1000 : 1));
  }
  const iso = ISO_8601.exec(text);
  if (!iso) return undefined;
  // As in loadEvents: a date-time without offset is UTC, never the machine's local time.
  const ms = Date.parse(text.replace(" ", "T") + (iso[1] !== undefined && iso[2] === undefined ? "Z" : ""));
  return Number.isFinite(ms) ? ms : undefined;
}

/** Attribute tables keep the first non-empty value per key and column (descriptions drift between rows). */
function keepFirst<T extends Record<string, unknown>>(
  table: Map<string, T>,
  key: string,
  create: () => T,
  fields: Record<string, unknown>,
  columns: readonly string[] | undefined,
  categoryColumn?: string,
  separator?: string,
): void {
  let row = table.get(key);
  if (!row) {
    row = create();
    table.set(key, row);
  }
  const target = row as Record<string, unknown>;
  for (const column of columns ?? []) {
    const value = String(fields[column] ?? "").trim();
    if (value !== "" && target[column] === undefined) target[column] = value;
  }
  if (categoryColumn && target.category === undefined) {
    const categories = String(fields[categoryColumn] ?? "")
      .split(separator ?? "|")
      .map((c) => c.trim())
      .filter((c) => c !== "");
    if (categories.length > 0) target.category = categories.join("|");
  }
}
