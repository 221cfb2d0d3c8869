// The callers file (a mounted Secret): who may call, how each proves it, and which roles each method needs.
// Tokens are stored as their SHA-256 only, so the file (and a leaked copy of it) never holds a usable token.
// A fast hash is enough because tokens are long random strings (`npm run hash-token -- --generate`), not
// passwords a dictionary could guess; a slow hash (scrypt) would cost milliseconds on every call.
import { createHash, randomBytes } from "node:crypto";
import { YAMLError, parse as parseYaml } from "yaml";
import { z } from "zod";

/** Roles needed by methods that change state or expose operations data; every other method: any caller. */
export const DEFAULT_METHOD_ROLES: Readonly<Record<string, readonly string[]>> = {
  "SimilarityService/UpsertUserVectors": ["operator"],
  "ExperimentService/GetExperimentSummary": ["operator"],
  "ModelStatusService/ListModels": ["operator"],
  "ModelStatusService/GetDrift": ["operator"],
};

/** Any authenticated caller, in a method rule. */
export const ANY_CALLER = "*";

const TOKEN_HASH = /^sha256:[0-9a-f]{64}$/;

const callersFileSchema = z.strictObject({
  callers: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/, "a caller name is letters, digits and . _ @ - (it appears in logs)"),
        roles: z.array(z.string().min(1)).min(1, "give the caller at least one role"),
        tokens: z.array(z.string().regex(TOKEN_HASH, 'a token is stored as "sha256:<64 hex digits>" (npm run hash-token), never in clear')).default([]),
        certificates: z.array(z.string().min(1)).default([]),
      }),
    )
    .min(1, "list at least one caller"),
  methods: z.record(z.string(), z.array(z.string().min(1)).min(1)).default({}),
});

export interface Caller {
  readonly name: string;
  readonly roles: readonly string[];
}

export interface CallersFile {
  /** Caller by token hash ("sha256:…"). */
  byTokenHash: ReadonlyMap<string, Caller>;
  /** Caller by client-certificate name (subject CN or a DNS/URI subject alternative name). */
  byCertificateName: ReadonlyMap<string, Caller>;
  /** Roles allowed per method: the defaults, overridden by the file's `methods`. */
  methodRoles: Readonly<Record<string, readonly string[]>>;
  callers: number;
}

/** Parses and checks the file (YAML, or JSON); throws an Error naming the first problem. */
export function parseCallersFile(text: string): CallersFile {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    // The yaml package's message quotes the offending line (a pasted token would reach the log): say where
    // and what kind of error only.
    if (error instanceof YAMLError) {
      const at = error.linePos?.[0];
      throw new Error(`not valid YAML${at ? ` at line ${at.line}, column ${at.col}` : ""} (${error.code}); fix the syntax there`);
    }
    throw error;
  }
  const parsed = callersFileSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${issue.path.join(".") || "file"}: ${issue.message}`);
  }
  for (const method of Object.keys(parsed.data.methods)) {
    if (!/^[A-Za-z]+\/[A-Za-z]+$/.test(method)) throw new Error(`methods.${method}: a method is "Service/Method", e.g. "SimilarityService/UpsertUserVectors"`);
  }
  const byTokenHash = new Map<string, Caller>();
  const byCertificateName = new Map<string, Caller>();
  const names = new Set<string>();
  for (const entry of parsed.data.callers) {
    if (names.has(entry.name)) throw new Error(`caller "${entry.name}" is listed twice`);
    names.add(entry.name);
    const caller: Caller = { name: entry.name, roles: entry.roles };
    for (const hash of entry.tokens) {
      if (byTokenHash.has(hash)) throw new Error(`one token hash is listed for "${byTokenHash.get(hash)!.name}" and "${entry.name}"; each token belongs to one caller`);
      byTokenHash.set(hash, caller);
    }
    for (const name of entry.certificates) {
      if (byCertificateName.has(name)) throw new Error(`certificate name "${name}" is listed for "${byCertificateName.get(name)!.name}" and "${entry.name}"`);
      byCertificateName.set(name, caller);
    }
  }
  return { byTokenHash, byCertificateName, methodRoles: { ...DEFAULT_METHOD_ROLES, ...parsed.data.methods }, callers: names.size };
}

/** "sha256:<hex>" of a token: what the callers file stores. */
export function hashToken(token: string): string {
  return `sha256:${createHash("sha256").update(token, "utf8").digest("hex")}`;
}

/** A new random token (32 bytes, base64url). */
export function generateToken(): string {
  return randomBytes(32).toString("base64url");
}
