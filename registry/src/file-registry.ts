import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import lockfile from "proper-lockfile";
import { aliasesFromHistory } from "./alias-history.js";
import {
  AliasNotFoundError,
  ChecksumMismatchError,
  CorruptRecordError,
  FailedPreconditionError,
  InvalidArgumentError,
  ModelNotFoundError,
  RegistryError,
  RegistryLockedError,
  VersionNotFoundError,
} from "./errors.js";
import { materializeModelDirectory, sha256Hex, writeVerifiedFile } from "./materialize-model-directory.js";
import {
  assertFilesMatchManifest,
  assertValidModelName,
  MANIFEST_FILE,
  parseModelManifest,
  readModelDirectory,
} from "./model-directory.js";
import {
  assertValidAlias,
  assertValidVersion,
  parseVersionRef,
  type AliasEvent,
  type DownloadResult,
  type ModelRegistry,
  type ModelVersion,
  type ModelVersionSummary,
  type ProgressListener,
  type RegisteredModelSummary,
  type RegisterOptions,
  type SetAliasOptions,
} from "./model-registry.js";
import { parseAliasEvent } from "./parse-alias-event.js";

export interface FileRegistryOptions {
  dataDir: string;
  actor: string;
  /** A lock whose mtime is older than this is taken over; the holder refreshes it every stale/2 ms. */
  lockStaleMs?: number;
  /** How long a writer waits for another writer before giving up with RegistryLockedError. */
  lockTimeoutMs?: number;
}

interface VersionRecord {
  version: number;
  registeredAt: string;
  registeredBy: string;
  manifestSha256: string;
}

interface ArchiveRecord {
  archivedAt: string;
  archivedBy: string;
}

const VERSION_FILE = "version.json";
const ARCHIVE_FILE = "archived.json";
const AUDIT_FILE = "audit.jsonl";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

/**
 * Registry on local disk, the embedded default.
 *
 * Layout: `<dataDir>/models/<name>/versions/<N>/{model/, version.json, archived.json?}` and an append-only
 * `audit.jsonl` per model that is the single source of truth for aliases (they are replayed from it, so an
 * alias move and its audit record can never disagree). A version is staged under `.staging/` and renamed
 * into `versions/` as the last step, so readers never see a partial version and need no lock.
 */
export class FileRegistry implements ModelRegistry {
  readonly backend = "file" as const;
  readonly location: string;
  private readonly actor: string;
  private readonly lockStaleMs: number;
  private readonly lockTimeoutMs: number;

  constructor(options: FileRegistryOptions) {
    this.location = path.resolve(options.dataDir);
    this.actor = options.actor;
    this.lockStaleMs = options.lockStaleMs ?? 10_000;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 120_000;
  }

  private modelDir(model: string): string {
    assertValidModelName(model, this.location);
    return path.join(this.location, "models", model);
  }

  private versionDir(model: string, version: number): string {
    return path.join(this.modelDir(model), "versions", String(version));
  }

  /** Serializes writers of one model across processes; a SIGKILLed holder's lock goes stale and is taken over. */
  private async withLock<T>(model: string, fn: (assertLockHeld: () => void) => Promise<T>): Promise<T> {
    const dir = this.modelDir(model);
    await mkdir(dir, { recursive: true });
    const lockPath = path.join(dir, ".lock");
    let compromised: Error | undefined;
    const started = Date.now();
    let release: (() => Promise<void>) | undefined;
    while (!release) {
      try {
        release = await lockfile.lock(dir, {
          lockfilePath: lockPath,
          realpath: false,
          stale: this.lockStaleMs,
          onCompromised: (err) => {
            compromised = err;
          },
        });
      } catch (err) {
        if (!isErrno(err, "ELOCKED")) throw err;
        const waited = Date.now() - started;
        if (waited > this.lockTimeoutMs) throw new RegistryLockedError(lockPath, waited);
        await sleep(50 + Math.random() * 150);
      }
    }
    try {
      return await fn(() => {
        if (compromised) {
          throw new RegistryError(`lost the registry lock ${lockPath} (${compromised.message}); aborting so two writers cannot interleave`);
        }
      });
    } finally {
      await release().catch(() => undefined);
    }
  }

  private async visibleVersionNumbers(model: string): Promise<number[]> {
    let entries: string[];
    try {
      entries = await readdir(path.join(this.modelDir(model), "versions"));
    } catch (err) {
      if (isErrno(err, "ENOENT")) return [];
      throw err;
    }
    return entries
      .filter((name) => /^[1-9]\d*$/.test(name))
      .map(Number)
      .sort((a, b) => a - b);
  }

  private async requireModel(model: string): Promise<number[]> {
    const versions = await this.visibleVersionNumbers(model);
    if (versions.length === 0) throw new ModelNotFoundError(model);
    return versions;
  }

  async register(dir: string, options: RegisterOptions = {}): Promise<ModelVersion> {
    const manifest = await readModelDirectory(dir);
    const model = manifest.name;
    if (options.model !== undefined && options.model !== model) {
      throw new InvalidArgumentError(`model directory ${dir} is for model "${model}", not "${options.model}"`);
    }
    await assertFilesMatchManifest(dir, manifest);
    const manifestBytes = await readFile(path.join(dir, MANIFEST_FILE));

    return this.withLock(model, async (assertLockHeld) => {
      const modelDir = this.modelDir(model);
      const stagingRoot = path.join(modelDir, ".staging");
      // Anything left in staging belongs to a writer that died holding this lock: it never became visible.
      await rm(stagingRoot, { recursive: true, force: true });
      const existing = await this.visibleVersionNumbers(model);
      const version = (existing.at(-1) ?? 0) + 1;
      const staging = path.join(stagingRoot, `${version}-${process.pid}-${randomBytes(4).toString("hex")}`);
      await mkdir(path.join(staging, "model"), { recursive: true });

      const totalBytes = Object.values(manifest.files).reduce((sum, entry) => sum + entry.bytes, 0);
      let doneBytes = 0;
      for (const [rel, entry] of Object.entries(manifest.files)) {
        const source = path.join(dir, ...rel.split("/"));
        await writeVerifiedFile(() => createReadStream(source), path.join(staging, "model", ...rel.split("/")), rel, entry, (bytes) => {
          doneBytes += bytes;
          options.onProgress?.({ phase: "store", file: rel, doneBytes, totalBytes });
        });
        assertLockHeld();
      }
      await writeFile(path.join(staging, "model", MANIFEST_FILE), manifestBytes);
      const record: VersionRecord = {
        version,
        registeredAt: new Date().toISOString(),
        registeredBy: this.actor,
        manifestSha256: sha256Hex(manifestBytes),
      };
      await writeFile(path.join(staging, VERSION_FILE), `${JSON.stringify(record, null, 2)}\n`);
      await syncDir(staging);
      assertLockHeld();
      await mkdir(path.join(modelDir, "versions"), { recursive: true });
      await rename(staging, this.versionDir(model, version));
      await syncDir(path.join(modelDir, "versions"));
      return this.getVersion(model, version);
    });
  }

  async listModels(): Promise<RegisteredModelSummary[]> {
    let names: string[];
    try {
      names = await readdir(path.join(this.location, "models"));
    } catch (err) {
      if (isErrno(err, "ENOENT")) return [];
      throw err;
    }
    const models: RegisteredModelSummary[] = [];
    for (const name of names.sort()) {
      const versions = await this.visibleVersionNumbers(name);
      const latestVersion = versions.at(-1);
      if (latestVersion === undefined) continue;
      models.push({ name, latestVersion, versionCount: versions.length, aliases: await this.aliasesOf(name) });
    }
    return models;
  }

  async listVersions(model: string): Promise<ModelVersionSummary[]> {
    const versions = await this.requireModel(model);
    const aliases = await this.aliasesOf(model);
    return Promise.all(
      versions.map(async (version) => {
        const { record: _record, ...summary } = await this.summary(model, version, aliases);
        return summary;
      }),
    );
  }

  private async summary(
    model: string,
    version: number,
    aliases: Record<string, number>,
  ): Promise<ModelVersionSummary & { record: VersionRecord }> {
    const dir = this.versionDir(model, version);
    const record = await readJson<VersionRecord>(path.join(dir, VERSION_FILE));
    const archived = await readJson<ArchiveRecord>(path.join(dir, ARCHIVE_FILE)).then(
      () => true,
      (err: unknown) => {
        if (isErrno(err, "ENOENT")) return false;
        throw err;
      },
    );
    return {
      record,
      model,
      version,
      registeredAt: record.registeredAt,
      registeredBy: record.registeredBy,
      archived,
      aliases: Object.entries(aliases)
        .filter(([, v]) => v === version)
        .map(([alias]) => alias)
        .sort(),
    };
  }

  async getVersion(model: string, version: number): Promise<ModelVersion> {
    assertValidVersion(version);
    const versions = await this.requireModel(model);
    if (!versions.includes(version)) throw new VersionNotFoundError(model, version, `latest is ${versions.at(-1)}`);
    const dir = this.versionDir(model, version);
    const { record, ...summary } = await this.summary(model, version, await this.aliasesOf(model));
    const manifestPath = path.join(dir, "model", MANIFEST_FILE);
    const manifestBytes = await readFile(manifestPath);
    const actual = sha256Hex(manifestBytes);
    if (actual !== record.manifestSha256) {
      throw new ChecksumMismatchError(`${model} v${version} ${MANIFEST_FILE}`, record.manifestSha256, actual);
    }
    const manifest = parseModelManifest(JSON.parse(manifestBytes.toString("utf8")), manifestPath);
    return { ...summary, manifest, manifestSha256: record.manifestSha256, source: path.join(dir, "model") };
  }

  async resolve(model: string, ref: number | string): Promise<ModelVersion> {
    const parsed = parseVersionRef(ref);
    if (parsed.kind === "version") return this.getVersion(model, parsed.version);
    await this.requireModel(model);
    const version = (await this.aliasesOf(model))[parsed.alias];
    if (version === undefined) throw new AliasNotFoundError(model, parsed.alias);
    return this.getVersion(model, version);
  }

  async getAliases(model: string): Promise<Record<string, number>> {
    await this.requireModel(model);
    return this.aliasesOf(model);
  }

  private async aliasesOf(model: string): Promise<Record<string, number>> {
    return aliasesFromHistory(await this.readAudit(model));
  }

  async setAlias(model: string, alias: string, version: number, options: SetAliasOptions = {}): Promise<AliasEvent> {
    assertValidAlias(alias);
    assertValidVersion(version);
    await this.requireModel(model);
    return this.withLock(model, async () => {
      const target = await this.getVersion(model, version);
      if (target.archived) {
        throw new FailedPreconditionError(`version ${version} of model "${model}" is archived; it cannot receive alias "${alias}"`);
      }
      const previous = (await this.aliasesOf(model))[alias] ?? null;
      return this.appendAudit(model, {
        model,
        alias,
        at: new Date().toISOString(),
        action: options.action ?? "set",
        previousVersion: previous,
        newVersion: version,
        actor: this.actor,
        ...(options.reason ? { reason: options.reason } : {}),
      });
    });
  }

  async deleteAlias(model: string, alias: string, options: { reason?: string } = {}): Promise<AliasEvent> {
    assertValidAlias(alias);
    await this.requireModel(model);
    return this.withLock(model, async () => {
      const previous = (await this.aliasesOf(model))[alias];
      if (previous === undefined) throw new AliasNotFoundError(model, alias);
      return this.appendAudit(model, {
        model,
        alias,
        at: new Date().toISOString(),
        action: "delete",
        previousVersion: previous,
        newVersion: null,
        actor: this.actor,
        ...(options.reason ? { reason: options.reason } : {}),
      });
    });
  }

  async aliasHistory(model: string, alias?: string): Promise<AliasEvent[]> {
    await this.requireModel(model);
    const events = await this.readAudit(model);
    return alias === undefined ? events : events.filter((event) => event.alias === alias);
  }

  async archive(model: string, version: number): Promise<ModelVersion> {
    assertValidVersion(version);
    await this.requireModel(model);
    return this.withLock(model, async () => {
      const current = await this.getVersion(model, version);
      if (current.archived) return current;
      if (current.aliases.length > 0) {
        throw new FailedPreconditionError(
          `version ${version} of model "${model}" is the target of alias ${current.aliases.map((a) => `"${a}"`).join(", ")}; move the alias to another version before archiving`,
        );
      }
      const record: ArchiveRecord = { archivedAt: new Date().toISOString(), archivedBy: this.actor };
      const file = path.join(this.versionDir(model, version), ARCHIVE_FILE);
      await writeFile(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
      await rename(`${file}.tmp`, file);
      return this.getVersion(model, version);
    });
  }

  async download(model: string, ref: number | string, dest: string, options: { onProgress?: ProgressListener } = {}): Promise<DownloadResult> {
    const version = await this.resolve(model, ref);
    const source = version.source;
    await materializeModelDirectory({
      dest,
      manifest: version.manifest,
      manifestBytes: await readFile(path.join(source, MANIFEST_FILE)),
      manifestSha256: version.manifestSha256,
      openFile: async (rel) => createReadStream(path.join(source, ...rel.split("/"))),
      phase: "download",
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    return { version, dir: path.resolve(dest) };
  }

  private auditPath(model: string): string {
    return path.join(this.modelDir(model), AUDIT_FILE);
  }

  /**
   * Parses audit.jsonl. A final line without its newline is a write that was interrupted before it was
   * acknowledged, so it never happened; any other unparseable line is corruption and is reported with its line.
   */
  private async readAudit(model: string): Promise<AliasEvent[]> {
    const file = this.auditPath(model);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      if (isErrno(err, "ENOENT")) return [];
      throw err;
    }
    const lines = text.split("\n");
    lines.pop();
    return lines.map((line, index) => parseAliasEvent(line, `${file}:${index + 1}`));
  }

  private async appendAudit(model: string, event: AliasEvent): Promise<AliasEvent> {
    const file = this.auditPath(model);
    await dropTornTail(file);
    const handle = await open(file, "a");
    try {
      // One write of the whole line: an O_APPEND write this small lands whole or (on a kill) as a torn tail.
      await handle.write(`${JSON.stringify(event)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return event;
  }
}

async function readJson<T>(file: string): Promise<T> {
  const text = await readFile(file, "utf8");
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new CorruptRecordError(`corrupt registry record ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Removes a partial last line left by a writer killed mid-append, so the next append starts on a fresh line. */
async function dropTornTail(file: string): Promise<void> {
  let text: Buffer;
  try {
    text = await readFile(file);
  } catch (err) {
    if (isErrno(err, "ENOENT")) return;
    throw err;
  }
  if (text.length === 0 || text[text.length - 1] === 0x0a) return;
  await truncate(file, text.lastIndexOf(0x0a) + 1);
}

/** fsync a directory so a rename survives power loss, not just process death. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
