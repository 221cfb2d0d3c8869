// Every Milvus SDK call goes through here, so connection failures and refusals become the package's errors.
import { IndexNotFoundError, VectorIndexError, VectorStoreUnavailableError } from "./errors.js";

interface MilvusStatus {
  error_code?: string | number;
  code?: number;
  reason?: string;
}

/** gRPC codes that mean "the server is not reachable right now": UNAVAILABLE, DEADLINE_EXCEEDED. */
const UNREACHABLE_CODES = new Set([14, 4]);

function statusOf(response: unknown): MilvusStatus | undefined {
  if (typeof response !== "object" || response === null) return undefined;
  const r = response as { status?: MilvusStatus } & MilvusStatus;
  return r.status ?? (r.error_code !== undefined ? r : undefined);
}

/**
 * Runs one SDK call. Thrown gRPC transport errors become UNAVAILABLE with a retry hint; a response whose
 * status is not Success becomes NOT_FOUND (missing collection or alias) or an internal error naming `what`.
 */
export async function milvusCall<T>(address: string, what: string, run: () => Promise<T>): Promise<T> {
  let response: T;
  try {
    response = await run();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    if ((typeof code === "number" && UNREACHABLE_CODES.has(code)) || /ECONNREFUSED|UNAVAILABLE|DEADLINE_EXCEEDED/.test(message)) {
      throw new VectorStoreUnavailableError(
        `Milvus at ${address} is unreachable (${what}); retry in a few seconds. Upserts and deletes are idempotent, so repeating them is safe`,
        { cause: err },
      );
    }
    throw new VectorIndexError(`Milvus call failed (${what}): ${message}`, { cause: err });
  }
  const status = statusOf(response);
  if (status && status.error_code !== undefined && status.error_code !== "Success" && status.error_code !== 0) {
    const reason = status.reason ?? String(status.error_code);
    if (/not ?exist|not found|CollectionNotExists/i.test(`${status.error_code} ${reason}`)) {
      throw new IndexNotFoundError(`Milvus has no such collection or alias (${what}): ${reason}`);
    }
    throw new VectorIndexError(`Milvus refused ${what}: ${reason}`);
  }
  return response;
}
