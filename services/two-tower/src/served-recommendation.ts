// The served-recommendation log record: what the Recommendation service writes (sampled, JSON lines) and the
// outcome join reads, declared once here beside the event schema both sides share.
import { isDevice, isPage, type Device, type Page } from "./event.js";

/** File prefix of the log: files are `served-recommendations-YYYY-MM-DD[.n].jsonl`. */
export const SERVED_RECOMMENDATIONS_LOG = "served-recommendations";

export interface ServedItem {
  itemId: string;
  /** 1-based position in the answer. */
  rank: number;
  score: number;
  /** item_retrieval, similar_users, hybrid or popularity. */
  source: string;
}

export interface ServedRecommendation {
  /** ISO 8601 time the answer was sent. */
  ts: string;
  /** The call's request id (the caller's x-request-id or a generated one). */
  requestId: string;
  /** Salted pseudonym of the user id (pseudonymiseUserId with the serving salt); null when the call had none. */
  user: string | null;
  model: string;
  version: string;
  page?: Page;
  device?: Device;
  items: ServedItem[];
}

/** A log line parsed, or the reason it is not a valid record (the join reports it with its line number). */
export function parseServedRecommendation(line: string): { record: ServedRecommendation } | { reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { reason: "not valid JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { reason: "not a JSON object" };
  const r = value as Record<string, unknown>;
  if (typeof r.ts !== "string" || Number.isNaN(Date.parse(r.ts))) return { reason: `ts: expected an ISO 8601 time, got ${JSON.stringify(r.ts)}` };
  if (typeof r.requestId !== "string") return { reason: "requestId: missing" };
  if (r.user !== null && (typeof r.user !== "string" || r.user === "")) return { reason: "user: expected a pseudonym or null" };
  if (typeof r.model !== "string" || r.model === "") return { reason: "model: missing" };
  if (typeof r.version !== "string" || r.version === "") return { reason: "version: missing" };
  if (r.page !== undefined && !isPage(r.page)) return { reason: `page: unknown page ${JSON.stringify(r.page)}` };
  if (r.device !== undefined && !isDevice(r.device)) return { reason: `device: unknown device ${JSON.stringify(r.device)}` };
  if (!Array.isArray(r.items)) return { reason: "items: expected an array" };
  for (const [i, item] of (r.items as unknown[]).entries()) {
    const it = item as Partial<ServedItem> | null;
    if (typeof it?.itemId !== "string" || it.itemId === "") return { reason: `items[${i}].itemId: missing` };
    if (!Number.isInteger(it.rank) || it.rank! < 1) return { reason: `items[${i}].rank: expected an integer >= 1` };
    if (typeof it.score !== "number" || !Number.isFinite(it.score)) return { reason: `items[${i}].score: expected a finite number` };
  }
  return { record: value as ServedRecommendation };
}
