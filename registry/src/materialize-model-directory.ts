import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm, rmdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ChecksumMismatchError, InvalidArgumentError } from "./errors.js";
import { MANIFEST_FILE, type FileEntry, type ModelManifest } from "./model-directory.js";
import type { ProgressListener, TransferProgress } from "./model-registry.js";

/** Streams the opened source into `destFile` while hashing it; throws ChecksumMismatchError when bytes or sha256 differ. */
export async function writeVerifiedFile(
  openSource: () => Readable | Promise<Readable>,
  destFile: string,
  rel: string,
  expected: FileEntry,
  onBytes?: (bytes: number) => void,
): Promise<void> {
  const hash = createHash("sha256");
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes?.(chunk.length);
      callback(null, chunk);
    },
  });
  await mkdir(path.dirname(destFile), { recursive: true });
  // Opened only now and piped at once: a stream that errors while nobody listens would crash the process.
  await pipeline(await openSource(), meter, createWriteStream(destFile));
  if (bytes !== expected.bytes) throw new ChecksumMismatchError(rel, `${expected.bytes} bytes`, `${bytes} bytes`);
  const actual = hash.digest("hex");
  if (actual !== expected.sha256) throw new ChecksumMismatchError(rel, expected.sha256, actual);
}

export function sha256Hex(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

async function assertEmptyOrMissing(dest: string): Promise<boolean> {
  try {
    const entries = await readdir(dest);
    if (entries.length > 0) {
      throw new InvalidArgumentError(`download destination ${dest} is not empty; choose a new or empty directory`);
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    if ((err as NodeJS.ErrnoException).code === "ENOTDIR") {
      throw new InvalidArgumentError(`download destination ${dest} is a file; choose a directory path`);
    }
    throw err;
  }
}

/**
 * Writes a complete, verified model directory to `dest`. Files go to a sibling temp directory that is renamed
 * into place only after every sha256 matched, so a refused version never leaves a half-written `dest`.
 */
export async function materializeModelDirectory(options: {
  dest: string;
  manifest: ModelManifest;
  manifestBytes: Buffer;
  manifestSha256: string;
  openFile: (rel: string) => Promise<Readable>;
  phase: TransferProgress["phase"];
  onProgress?: ProgressListener;
}): Promise<void> {
  const { dest, manifest, manifestBytes, manifestSha256, openFile, phase, onProgress } = options;
  const actualManifestSha = sha256Hex(manifestBytes);
  if (actualManifestSha !== manifestSha256) throw new ChecksumMismatchError(MANIFEST_FILE, manifestSha256, actualManifestSha);
  const destExists = await assertEmptyOrMissing(dest);
  const parent = path.dirname(path.resolve(dest));
  await mkdir(parent, { recursive: true });
  const temp = path.join(parent, `.${path.basename(dest)}.partial-${randomBytes(4).toString("hex")}`);
  const totalBytes = Object.values(manifest.files).reduce((sum, entry) => sum + entry.bytes, 0);
  let doneBytes = 0;
  try {
    for (const [rel, entry] of Object.entries(manifest.files)) {
      try {
        await writeVerifiedFile(() => openFile(rel), path.join(temp, ...rel.split("/")), rel, entry, (bytes) => {
          doneBytes += bytes;
          onProgress?.({ phase, file: rel, doneBytes, totalBytes });
        });
      } catch (err) {
        // A stored file that vanished is the same failure as one that changed: the version is incomplete.
        if (isMissing(err)) throw new ChecksumMismatchError(rel, entry.sha256, "missing file");
        throw err;
      }
    }
    await writeFile(path.join(temp, MANIFEST_FILE), manifestBytes);
    if (destExists) await rmdir(dest);
    await rename(temp, dest);
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}

function isMissing(err: unknown): boolean {
  const e = err as { code?: unknown; status?: unknown } | null;
  return e?.code === "ENOENT" || e?.status === 404;
}
