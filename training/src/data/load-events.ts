import { DataFileError } from "./errors.js";
import {
  DEVICES,
  INTERACTIONS,
  PAGES,
  isDevice,
  isInteractionKind,
  isPage,
  type InteractionEvent,
  type ItemAttributes,
  type UserAttributes,
} from "@funnel/two-tower";
import { readRecords, type RawRecord } from "./read-records.js";

export interface RowError {
  file: string;
  /** 1-based line in the file (the CSV header is line 1). */
  line: number;
  reason: string;
}

export interface LoadReport {
  files: string[];
  /** Data rows seen, good or bad; blank lines are not rows. */
  rowsRead: number;
  rowsAccepted: number;
  rowsRejected: number;
  /** One entry per rejected row, so rowsRejected === errors.length. */
  errors: RowError[];
}

export interface LoadOptions {
  /** Throw a DataFileError on the first bad row instead of collecting it in the report. */
  strict?: boolean;
  /** Called with the running count of rows read, every PROGRESS_EVERY rows and once at the end. */
  onProgress?: (rows: number) => void;
}

/** Column names of the event schema, in the order writeEvents uses. */
export const EVENT_COLUMNS = [
  "user_id",
  "session_id",
  "timestamp",
  "device",
  "page",
  "interaction",
  "duration_s",
  "item_id",
  "converted",
  "text",
] as const;
const REQUIRED_EVENT_COLUMNS = EVENT_COLUMNS.filter((c) => c !== "text");

const PROGRESS_EVERY = 10_000;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Loads events from CSV and/or JSONL files, validating every row (see training/README.md, "Events"). */
export async function loadEvents(
  paths: string[],
  options: LoadOptions = {},
): Promise<{ events: InteractionEvent[]; report: LoadReport }> {
  const events: InteractionEvent[] = [];
  const report = emptyReport(paths);
  for (const path of paths) {
    const records = readRecords(path, { allowedColumns: EVENT_COLUMNS, requiredColumns: REQUIRED_EVENT_COLUMNS });
    for await (const record of records) {
      const result = record.fields ? parseEventRow(record.fields) : record;
      if (accept(report, path, record, result.reason, options)) events.push((result as { event: InteractionEvent }).event);
    }
  }
  options.onProgress?.(report.rowsRead);
  return { events, report };
}

/**
 * Loads the optional item attribute table: item_id (required, unique) and category (optional); any other
 * column is kept as a free attribute under its own name.
 */
export async function loadItemAttributes(
  path: string,
  options: LoadOptions = {},
): Promise<{ items: ItemAttributes[]; report: LoadReport }> {
  const { rows, report } = await loadAttributeTable(path, "item_id", options);
  const items = rows.map(({ key, rest }) => {
    const { category, ...others } = rest;
    const item: ItemAttributes = { itemId: key, ...others };
    if (category !== undefined) item.category = category as string;
    return item;
  });
  return { items, report };
}

/** Loads the optional user attribute table: user_id (required, unique); other columns are kept as-is. */
export async function loadUserAttributes(
  path: string,
  options: LoadOptions = {},
): Promise<{ users: UserAttributes[]; report: LoadReport }> {
  const { rows, report } = await loadAttributeTable(path, "user_id", options);
  return { users: rows.map(({ key, rest }) => ({ userId: key, ...rest })), report };
}

async function loadAttributeTable(
  path: string,
  keyColumn: string,
  options: LoadOptions,
): Promise<{ rows: { key: string; rest: Record<string, unknown> }[]; report: LoadReport }> {
  const report = emptyReport([path]);
  const rows: { key: string; rest: Record<string, unknown> }[] = [];
  const firstLineOf = new Map<string, number>();
  for await (const record of readRecords(path, { requiredColumns: [keyColumn] })) {
    let reason = record.reason;
    let key = "";
    const rest: Record<string, unknown> = {};
    if (record.fields) {
      const keyValue = record.fields[keyColumn];
      key = typeof keyValue === "number" && Number.isInteger(keyValue) ? String(keyValue) : (keyValue as string);
      if (typeof key !== "string" || key.trim() === "") reason = `${keyColumn} is missing or empty`;
      else if (firstLineOf.has(key)) reason = `duplicate ${keyColumn} "${key}" (first on line ${firstLineOf.get(key)})`;
      else if ("category" in record.fields && !isOptionalString(record.fields.category)) {
        reason = `category must be a string, got ${JSON.stringify(record.fields.category)}`;
      } else {
        firstLineOf.set(key, record.line);
        for (const [name, value] of Object.entries(record.fields)) {
          // An empty CSV cell means "no value"; keeping "" would put a bogus category in the vocabulary.
          if (name !== keyColumn && value !== "" && value !== null && value !== undefined) rest[name] = value;
        }
      }
    }
    if (accept(report, path, record, reason, options)) rows.push({ key, rest });
  }
  options.onProgress?.(report.rowsRead);
  return { rows, report };
}

function emptyReport(files: string[]): LoadReport {
  return { files: [...files], rowsRead: 0, rowsAccepted: 0, rowsRejected: 0, errors: [] };
}

/** Books one row into the report; returns true when the row is good. */
function accept(report: LoadReport, file: string, record: RawRecord, reason: string | undefined, options: LoadOptions): boolean {
  report.rowsRead++;
  if (options.onProgress && report.rowsRead % PROGRESS_EVERY === 0) options.onProgress(report.rowsRead);
  if (reason === undefined) {
    report.rowsAccepted++;
    return true;
  }
  if (options.strict) throw new DataFileError(file, record.line, reason);
  report.rowsRejected++;
  report.errors.push({ file, line: record.line, reason });
  return false;
}

/** Validates one row (CSV strings or JSONL values) against the event schema, naming every bad field. */
export function parseEventRow(fields: Record<string, unknown>): { event: InteractionEvent; reason?: undefined } | { reason: string } {
  const problems: string[] = [];
  const userId = idField(fields, "user_id", problems);
  const sessionId = idField(fields, "session_id", problems);
  const itemId = idField(fields, "item_id", problems);
  const timestamp = timestampField(fields.timestamp, problems);
  const device = enumField(fields.device, "device", DEVICES, isDevice, problems);
  const page = enumField(fields.page, "page", PAGES, isPage, problems);
  const interaction = enumField(fields.interaction, "interaction", INTERACTIONS, isInteractionKind, problems);
  const durationSeconds = durationField(fields.duration_s, problems);
  const converted = booleanField(fields.converted, problems);
  const text = fields.text;
  if (text !== undefined && text !== null && typeof text !== "string") {
    problems.push(`text must be a string, got ${JSON.stringify(text)}`);
  }
  if (problems.length > 0) return { reason: problems.join("; ") };
  const event: InteractionEvent = {
    userId: userId!,
    sessionId: sessionId!,
    timestamp: timestamp!,
    device: device!,
    page: page!,
    interaction: interaction!,
    durationSeconds: durationSeconds!,
    itemId: itemId!,
    converted: converted!,
  };
  if (typeof text === "string" && text !== "") event.text = text;
  return { event };
}

function idField(fields: Record<string, unknown>, name: string, problems: string[]): string | undefined {
  const value = fields[name];
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  if (typeof value !== "string" || value.trim() === "") {
    problems.push(`${name} is missing or empty`);
    return undefined;
  }
  return value;
}

function timestampField(value: unknown, problems: string[]): number | undefined {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === "string") {
    const text = value.trim();
    if (/^\d+$/.test(text)) return Number(text);
    const iso = ISO_8601.exec(text);
    if (iso) {
      // Date.parse reads a date-time without offset as local time, which would make results depend on the
      // machine's time zone; the schema defines such values as UTC.
      const normalised = text.replace(" ", "T") + (iso[1] !== undefined && iso[2] === undefined ? "Z" : "");
      const ms = Date.parse(normalised);
      if (Number.isFinite(ms)) return ms;
    }
  }
  problems.push(`timestamp ${JSON.stringify(value ?? null)} is neither ISO 8601 nor epoch milliseconds`);
  return undefined;
}

function enumField<T extends string>(
  value: unknown,
  name: string,
  allowed: readonly T[],
  guard: (v: unknown) => v is T,
  problems: string[],
): T | undefined {
  const normalised = typeof value === "string" ? value.trim().toLowerCase() : value;
  if (guard(normalised)) return normalised;
  problems.push(`${name} ${JSON.stringify(value ?? null)} is not one of ${allowed.join(", ")}`);
  return undefined;
}

function durationField(value: unknown, problems: string[]): number | undefined {
  const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  if (Number.isFinite(n) && n >= 0) return n;
  problems.push(`duration_s ${JSON.stringify(value ?? null)} is not a number >= 0`);
  return undefined;
}

function booleanField(value: unknown, problems: string[]): boolean | undefined {
  if (value === true || value === 1 || value === "1" || value === "true") return true;
  if (value === false || value === 0 || value === "0" || value === "false") return false;
  problems.push(`converted ${JSON.stringify(value ?? null)} is not 0, 1, true or false`);
  return undefined;
}

function isOptionalString(value: unknown): boolean {
  return value === undefined || value === null || typeof value === "string";
}
