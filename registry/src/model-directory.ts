import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { ChecksumMismatchError, InvalidModelDirectoryError } from "./errors.js";

export const MODEL_DIRECTORY_FORMAT = "funnel-model/v1";
export const MANIFEST_FILE = "manifest.json";

export interface FileEntry {
  sha256: string;
  bytes: number;
}

export interface ModelLineage {
  dataFingerprint: string;
  gitCommit?: string;
  seed?: number;
  trainingConfig?: unknown;
  /** HMAC-SHA256 of a fixed label keyed by the pseudonym salt the stored user ids used; never the salt. */
  pseudonymSaltFingerprint?: string;
}

export interface ModelManifest {
  format: typeof MODEL_DIRECTORY_FORMAT;
  /** Registered model name, e.g. "two-tower". */
  name: string;
  /** "two-tower" | "sentiment-rules" | ... */
  kind: string;
  /** ISO 8601. */
  createdAt: string;
  /** Every file except manifest.json, keyed by posix relative path. */
  files: Record<string, FileEntry>;
  metrics: Record<string, number>;
  params: Record<string, string | number | boolean>;
  lineage: ModelLineage;
}

export type ModelManifestMeta = Omit<ModelManifest, "format" | "files" | "createdAt"> & { createdAt?: string };

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Model names end up in paths and URLs, so they are restricted to a filesystem- and URL-safe set. */
export function assertValidModelName(name: unknown, where: string): asserts name is string {
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    throw new InvalidModelDirectoryError(
      where,
      `model name ${JSON.stringify(name)} must match ${NAME_PATTERN} (letters, digits, ".", "_", "-")`,
    );
  }
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

/** Lists every regular file under `dir` as posix relative paths, sorted so manifests are deterministic. */
export async function listModelFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const abs = path.join(entry.parentPath, entry.name);
    const rel = path.relative(dir, abs).split(path.sep).join("/");
    if (entry.isSymbolicLink()) {
      // A link could point outside the directory; copying it into the registry would not be self-contained.
      throw new InvalidModelDirectoryError(dir, `"${rel}" is a symbolic link; model directories must hold real files`);
    }
    if (!entry.isFile()) continue;
    if (rel === MANIFEST_FILE) continue;
    files.push(rel);
  }
  return files.sort();
}

function validateMeta(dir: string, meta: ModelManifestMeta): void {
  assertValidModelName(meta.name, dir);
  if (typeof meta.kind !== "string" || meta.kind.length === 0) {
    throw new InvalidModelDirectoryError(dir, `"kind" must be a non-empty string, got ${JSON.stringify(meta.kind)}`);
  }
  for (const [key, value] of Object.entries(meta.metrics ?? {})) {
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new InvalidModelDirectoryError(dir, `metric "${key}" must be a finite number, got ${JSON.stringify(value)}`);
    }
  }
  for (const [key, value] of Object.entries(meta.params ?? {})) {
    if (!["string", "number", "boolean"].includes(typeof value)) {
      throw new InvalidModelDirectoryError(dir, `param "${key}" must be a string, number or boolean, got ${JSON.stringify(value)}`);
    }
  }
  if (!meta.lineage || typeof meta.lineage.dataFingerprint !== "string" || meta.lineage.dataFingerprint === "") {
    throw new InvalidModelDirectoryError(dir, `"lineage.dataFingerprint" must be a non-empty string`);
  }
  if (meta.createdAt !== undefined && Number.isNaN(Date.parse(meta.createdAt))) {
    throw new InvalidModelDirectoryError(dir, `"createdAt" must be an ISO 8601 date, got ${JSON.stringify(meta.createdAt)}`);
  }
}

/**
 * Hashes every file in `dir` and writes manifest.json. Call it last: the manifest's presence is what marks
 * the directory complete, so it is written to a temp name and renamed into place.
 */
export async function writeModelDirectoryManifest(dir: string, meta: ModelManifestMeta): Promise<ModelManifest> {
  validateMeta(dir, meta);
  const files: Record<string, FileEntry> = {};
  for (const rel of await listModelFiles(dir)) {
    const abs = path.join(dir, ...rel.split("/"));
    const [sha256, info] = await Promise.all([sha256File(abs), stat(abs)]);
    files[rel] = { sha256, bytes: info.size };
  }
  const manifest: ModelManifest = {
    format: MODEL_DIRECTORY_FORMAT,
    name: meta.name,
    kind: meta.kind,
    createdAt: meta.createdAt ?? new Date().toISOString(),
    files,
    metrics: { ...meta.metrics },
    params: { ...meta.params },
    lineage: { ...meta.lineage },
  };
  const target = path.join(dir, MANIFEST_FILE);
  const temp = `${target}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(temp, target);
  return manifest;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Validates the shape of a parsed manifest; `where` names the source in error messages. */
export function parseModelManifest(raw: unknown, where: string): ModelManifest {
  if (!isRecord(raw)) throw new InvalidModelDirectoryError(where, `${MANIFEST_FILE} must hold a JSON object`);
  if (raw.format !== MODEL_DIRECTORY_FORMAT) {
    throw new InvalidModelDirectoryError(
      where,
      `${MANIFEST_FILE} has format ${JSON.stringify(raw.format)}, expected "${MODEL_DIRECTORY_FORMAT}"`,
    );
  }
  if (!isRecord(raw.files)) throw new InvalidModelDirectoryError(where, `${MANIFEST_FILE} "files" must be an object`);
  for (const [rel, entry] of Object.entries(raw.files)) {
    if (rel.startsWith("/") || rel.split("/").includes("..") || rel === MANIFEST_FILE) {
      throw new InvalidModelDirectoryError(where, `${MANIFEST_FILE} lists an unsafe file path "${rel}"`);
    }
    if (!isRecord(entry) || typeof entry.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(entry.sha256) || typeof entry.bytes !== "number") {
      throw new InvalidModelDirectoryError(where, `${MANIFEST_FILE} entry for "${rel}" needs a hex "sha256" and numeric "bytes"`);
    }
  }
  if (!isRecord(raw.metrics)) throw new InvalidModelDirectoryError(where, `${MANIFEST_FILE} "metrics" must be an object`);
  if (!isRecord(raw.params)) throw new InvalidModelDirectoryError(where, `${MANIFEST_FILE} "params" must be an object`);
  if (!isRecord(raw.lineage)) throw new InvalidModelDirectoryError(where, `${MANIFEST_FILE} "lineage" must be an object`);
  if (typeof raw.createdAt !== "string") throw new InvalidModelDirectoryError(where, `${MANIFEST_FILE} "createdAt" must be a string`);
  const manifest = raw as unknown as ModelManifest;
  validateMeta(where, manifest);
  return manifest;
}

/** Reads and validates `<dir>/manifest.json` without hashing files (cheap; use verifyModelDirectory for integrity). */
export async function readModelDirectory(dir: string): Promise<ModelManifest> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new InvalidModelDirectoryError(dir, `cannot read ${MANIFEST_FILE} (${(err as NodeJS.ErrnoException).code ?? String(err)}); write it with writeModelDirectoryManifest`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InvalidModelDirectoryError(dir, `${MANIFEST_FILE} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseModelManifest(raw, dir);
}

/**
 * Checks every file listed in the manifest against its size and sha256, and that no unlisted file was added.
 * Throws ChecksumMismatchError naming the first offending file.
 */
export async function verifyModelDirectory(dir: string): Promise<void> {
  const manifest = await readModelDirectory(dir);
  const present = new Set(await listModelFiles(dir));
  for (const [rel, entry] of Object.entries(manifest.files)) {
    const abs = path.join(dir, ...rel.split("/"));
    if (!present.has(rel)) throw new ChecksumMismatchError(rel, entry.sha256, "missing file");
    const info = await stat(abs);
    if (info.size !== entry.bytes) {
      throw new ChecksumMismatchError(rel, `${entry.bytes} bytes`, `${info.size} bytes`);
    }
    const actual = await sha256File(abs);
    if (actual !== entry.sha256) throw new ChecksumMismatchError(rel, entry.sha256, actual);
    present.delete(rel);
  }
  const extra = [...present][0];
  if (extra !== undefined) throw new ChecksumMismatchError(extra, "not listed in manifest", "present");
}

/**
 * Cheap pre-check before storing a directory: every listed file exists and nothing unlisted would be
 * silently left behind. Contents are verified while they are copied.
 */
export async function assertFilesMatchManifest(dir: string, manifest: ModelManifest): Promise<void> {
  const present = await listModelFiles(dir);
  const presentSet = new Set(present);
  const missing = Object.entries(manifest.files).find(([rel]) => !presentSet.has(rel));
  if (missing) throw new ChecksumMismatchError(missing[0], missing[1].sha256, "missing file");
  const unlisted = present.filter((rel) => !(rel in manifest.files));
  if (unlisted.length > 0) {
    throw new InvalidModelDirectoryError(
      dir,
      `files not listed in ${MANIFEST_FILE}: ${unlisted.join(", ")}; rewrite the manifest with writeModelDirectoryManifest after adding files`,
    );
  }
}
