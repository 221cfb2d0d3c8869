import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  AliasNotFoundError,
  ChecksumMismatchError,
  FailedPreconditionError,
  InvalidArgumentError,
  ModelNotFoundError,
  RegistryError,
  RegistryUnavailableError,
  VersionNotFoundError,
} from "./errors.js";
import { materializeModelDirectory, sha256Hex } from "./materialize-model-directory.js";
import { MlflowApiError, MlflowClient, type MlflowClientOptions } from "./mlflow-client.js";
import { assertFilesMatchManifest, MANIFEST_FILE, parseModelManifest, readModelDirectory, sha256File, type ModelManifest } from "./model-directory.js";
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

export interface MlflowRegistryOptions extends MlflowClientOptions {
  url: string;
  actor: string;
  /** How long to wait for a new model version to leave PENDING_REGISTRATION. */
  readyTimeoutMs?: number;
}

interface Tag {
  key: string;
  value: string;
}

interface MlflowModelVersion {
  name: string;
  version: string;
  creation_timestamp: number;
  source: string;
  run_id?: string;
  status?: "PENDING_REGISTRATION" | "FAILED_REGISTRATION" | "READY";
  status_message?: string;
  tags?: Tag[];
  aliases?: string[];
}

interface MlflowRegisteredModel {
  name: string;
  tags?: Tag[];
  aliases?: { alias: string; version: string }[];
}

interface MlflowRun {
  info: { run_id: string; experiment_id: string; artifact_uri: string };
}

const TAG = {
  registeredBy: "funnel.registered_by",
  manifestSha256: "funnel.manifest_sha256",
  archived: "funnel.archived",
  kind: "funnel.kind",
  dataFingerprint: "funnel.data_fingerprint",
  seed: "funnel.seed",
  gitCommit: "mlflow.source.git.commit",
  featureSpecSha256: "funnel.feature_spec_sha256",
  auditPrefix: "funnel.audit.",
} as const;

const EXPERIMENT_PREFIX = "funnel-registry/";
const FEATURE_SPEC_FILE = "feature-spec.json";
const TRAINING_CONFIG_ARTIFACT = "training-config.json";
const MAX_PARAM_VALUE = 6000;
const BATCH_LIMIT = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tagValue(tags: Tag[] | undefined, key: string): string | undefined {
  return tags?.find((tag) => tag.key === key)?.value;
}

function isNotFound(err: unknown): boolean {
  return err instanceof MlflowApiError && err.errorCode === "RESOURCE_DOES_NOT_EXIST";
}

/** `mlflow-artifacts:/1/<run>/artifacts/model` (or with a host) → the path the artifact proxy serves. */
function artifactPathOf(uri: string): string {
  if (!uri.startsWith("mlflow-artifacts:")) {
    throw new RegistryError(
      `artifact location ${uri} is not served by the MLflow artifact proxy; start the server with --serve-artifacts so runs get mlflow-artifacts: URIs`,
    );
  }
  return new URL(uri).pathname.replace(/^\/+/, "");
}

/**
 * MLflow backend over the REST API 2.0. A version is a run (metrics, params, lineage tags, artifacts under
 * `model/`) plus a model version pointing at it; it counts only once MLflow reports it READY.
 *
 * The alias audit trail is kept as one registered-model tag per event (`funnel.audit.<ms>.<seq>.<rand>`):
 * MLflow has no append API, and a single JSON tag or artifact would need read-modify-write, so concurrent
 * promoters could erase each other's records. Distinct keys make each write an append, and the trail lives
 * in MLflow's own store next to the aliases it describes (same backups, visible in the UI).
 */
export class MlflowRegistry implements ModelRegistry {
  readonly backend = "mlflow" as const;
  readonly location: string;
  private readonly client: MlflowClient;
  private readonly actor: string;
  private readonly readyTimeoutMs: number;
  private lastAuditMs = 0;
  private auditSeq = 0;

  constructor(options: MlflowRegistryOptions) {
    this.location = options.url;
    this.client = new MlflowClient(options.url, options);
    this.actor = options.actor;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  }

  private async getRegisteredModel(model: string): Promise<MlflowRegisteredModel> {
    try {
      const body = await this.client.call<{ registered_model: MlflowRegisteredModel }>("GET", "registered-models/get", { name: model });
      return body.registered_model;
    } catch (err) {
      if (isNotFound(err)) throw new ModelNotFoundError(model);
      throw err;
    }
  }

  private async ensureExperiment(model: string): Promise<string> {
    const name = `${EXPERIMENT_PREFIX}${model}`;
    try {
      const body = await this.client.call<{ experiment: { experiment_id: string } }>("GET", "experiments/get-by-name", { experiment_name: name });
      return body.experiment.experiment_id;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      const body = await this.client.call<{ experiment_id: string }>("POST", "experiments/create", { name });
      return body.experiment_id;
    } catch (err) {
      // Another registrar created it between our get and create.
      if (err instanceof MlflowApiError && err.errorCode === "RESOURCE_ALREADY_EXISTS") return this.ensureExperiment(model);
      throw err;
    }
  }

  private async ensureRegisteredModel(model: string): Promise<void> {
    try {
      await this.client.call("POST", "registered-models/create", { name: model });
    } catch (err) {
      if (!(err instanceof MlflowApiError && err.errorCode === "RESOURCE_ALREADY_EXISTS")) throw err;
    }
  }

  async register(dir: string, options: RegisterOptions = {}): Promise<ModelVersion> {
    const manifest = await readModelDirectory(dir);
    const model = manifest.name;
    if (options.model !== undefined && options.model !== model) {
      throw new InvalidArgumentError(`model directory ${dir} is for model "${model}", not "${options.model}"`);
    }
    await assertFilesMatchManifest(dir, manifest);
    for (const [key, value] of Object.entries(manifest.params)) {
      if (String(value).length > MAX_PARAM_VALUE) {
        throw new InvalidArgumentError(`param "${key}" is longer than MLflow's ${MAX_PARAM_VALUE}-character limit; put it in trainingConfig instead`);
      }
    }
    const manifestBytes = await readFile(path.join(dir, MANIFEST_FILE));
    const manifestSha256 = sha256Hex(manifestBytes);

    const experimentId = await this.ensureExperiment(model);
    const run = (
      await this.client.call<{ run: MlflowRun }>("POST", "runs/create", {
        experiment_id: experimentId,
        start_time: Date.now(),
        run_name: `${model}-${manifest.createdAt}`,
        tags: this.lineageTags(manifest),
      })
    ).run;
    const runId = run.info.run_id;
    try {
      await this.logMetricsAndParams(runId, manifest);
      await this.uploadModelFiles(dir, run.info.artifact_uri, manifest, manifestBytes, options.onProgress);
      await this.client.call("POST", "runs/update", { run_id: runId, status: "FINISHED", end_time: Date.now() });
    } catch (err) {
      await this.client.call("POST", "runs/update", { run_id: runId, status: "FAILED", end_time: Date.now() }).catch(() => undefined);
      throw err;
    }

    await this.ensureRegisteredModel(model);
    const created = await this.client.call<{ model_version: MlflowModelVersion }>("POST", "model-versions/create", {
      name: model,
      source: `${run.info.artifact_uri}/model`,
      run_id: runId,
      tags: [
        { key: TAG.registeredBy, value: this.actor },
        { key: TAG.manifestSha256, value: manifestSha256 },
        { key: TAG.kind, value: manifest.kind },
      ],
    });
    const version = Number(created.model_version.version);
    await this.waitUntilReady(model, version);
    return this.getVersion(model, version);
  }

  private lineageTags(manifest: ModelManifest): Tag[] {
    const tags: Tag[] = [
      { key: TAG.kind, value: manifest.kind },
      { key: TAG.dataFingerprint, value: manifest.lineage.dataFingerprint },
      { key: TAG.registeredBy, value: this.actor },
    ];
    if (manifest.lineage.gitCommit) tags.push({ key: TAG.gitCommit, value: manifest.lineage.gitCommit });
    if (manifest.lineage.seed !== undefined) tags.push({ key: TAG.seed, value: String(manifest.lineage.seed) });
    const featureSpec = manifest.files[FEATURE_SPEC_FILE];
    if (featureSpec) tags.push({ key: TAG.featureSpecSha256, value: featureSpec.sha256 });
    return tags;
  }

  private async logMetricsAndParams(runId: string, manifest: ModelManifest): Promise<void> {
    const timestamp = Date.now();
    const metrics = Object.entries(manifest.metrics).map(([key, value]) => ({ key: mlflowMetricKey(key), value, timestamp, step: 0 }));
    const params = Object.entries(manifest.params).map(([key, value]) => ({ key, value: String(value) }));
    // log-batch caps params at 100 per request; metrics allow 1000, so chunking by 100 keeps both legal.
    for (let i = 0; i < Math.max(metrics.length, params.length); i += BATCH_LIMIT) {
      await this.client.call("POST", "runs/log-batch", {
        run_id: runId,
        metrics: metrics.slice(i, i + BATCH_LIMIT),
        params: params.slice(i, i + BATCH_LIMIT),
      });
    }
  }

  private async uploadModelFiles(
    dir: string,
    artifactUri: string,
    manifest: ModelManifest,
    manifestBytes: Buffer,
    onProgress: ProgressListener | undefined,
  ): Promise<void> {
    const base = `${artifactPathOf(artifactUri)}/model`;
    const totalBytes = Object.values(manifest.files).reduce((sum, entry) => sum + entry.bytes, 0);
    let doneBytes = 0;
    for (const [rel, entry] of Object.entries(manifest.files)) {
      const file = path.join(dir, ...rel.split("/"));
      // Hash before upload: a directory changed since its manifest was written must not be registered.
      const actual = await sha256File(file);
      if (actual !== entry.sha256) throw new ChecksumMismatchError(rel, entry.sha256, actual);
      await this.client.uploadArtifact(`${base}/${rel}`, () => createReadStream(file), entry.bytes);
      doneBytes += entry.bytes;
      onProgress?.({ phase: "store", file: rel, doneBytes, totalBytes });
    }
    await this.client.uploadArtifact(`${base}/${MANIFEST_FILE}`, () => manifestBytes, manifestBytes.length);
    if (manifest.lineage.trainingConfig !== undefined) {
      // Beside model/, not in it: readable in the MLflow UI without changing the model directory's contents.
      const config = Buffer.from(`${JSON.stringify(manifest.lineage.trainingConfig, null, 2)}\n`);
      await this.client.uploadArtifact(`${artifactPathOf(artifactUri)}/${TRAINING_CONFIG_ARTIFACT}`, () => config, config.length);
    }
  }

  private async waitUntilReady(model: string, version: number): Promise<void> {
    const deadline = Date.now() + this.readyTimeoutMs;
    let delay = 100;
    for (;;) {
      const mv = await this.getRawVersion(model, version);
      if (mv.status === undefined || mv.status === "READY") return;
      if (mv.status === "FAILED_REGISTRATION") {
        throw new RegistryError(`MLflow failed to register ${model} v${version}: ${mv.status_message ?? "no message"}`);
      }
      if (Date.now() > deadline) {
        throw new RegistryUnavailableError(this.location, `${model} v${version} still ${mv.status} after ${this.readyTimeoutMs} ms`);
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 2000);
    }
  }

  private async getRawVersion(model: string, version: number): Promise<MlflowModelVersion> {
    try {
      const body = await this.client.call<{ model_version: MlflowModelVersion }>("GET", "model-versions/get", { name: model, version: String(version) });
      return body.model_version;
    } catch (err) {
      if (isNotFound(err)) throw new VersionNotFoundError(model, version);
      throw err;
    }
  }

  private async searchVersions(model: string): Promise<MlflowModelVersion[]> {
    const versions: MlflowModelVersion[] = [];
    let pageToken: string | undefined;
    do {
      const body = await this.client.call<{ model_versions?: MlflowModelVersion[]; next_page_token?: string }>("GET", "model-versions/search", {
        filter: `name='${model}'`,
        max_results: 1000,
        ...(pageToken ? { page_token: pageToken } : {}),
      });
      versions.push(...(body.model_versions ?? []));
      pageToken = body.next_page_token;
    } while (pageToken);
    // Non-READY versions are still being written (or failed); they are not part of the registry yet.
    return versions.filter((mv) => mv.status === undefined || mv.status === "READY").sort((a, b) => Number(a.version) - Number(b.version));
  }

  private toSummary(mv: MlflowModelVersion, aliases: Record<string, number>): ModelVersionSummary {
    const version = Number(mv.version);
    return {
      model: mv.name,
      version,
      registeredAt: new Date(mv.creation_timestamp).toISOString(),
      registeredBy: tagValue(mv.tags, TAG.registeredBy) ?? "unknown",
      archived: tagValue(mv.tags, TAG.archived) !== undefined,
      aliases: Object.entries(aliases)
        .filter(([, v]) => v === version)
        .map(([alias]) => alias)
        .sort(),
    };
  }

  async listModels(): Promise<RegisteredModelSummary[]> {
    const models: MlflowRegisteredModel[] = [];
    let pageToken: string | undefined;
    do {
      const body = await this.client.call<{ registered_models?: MlflowRegisteredModel[]; next_page_token?: string }>("GET", "registered-models/search", {
        max_results: 1000,
        ...(pageToken ? { page_token: pageToken } : {}),
      });
      models.push(...(body.registered_models ?? []));
      pageToken = body.next_page_token;
    } while (pageToken);
    const summaries: RegisteredModelSummary[] = [];
    // MLflow 3 stores prompts as registered models too; they are not funnel models.
    const realModels = models.filter((rm) => tagValue(rm.tags, "mlflow.prompt.is_prompt") !== "true");
    for (const rm of realModels.sort((a, b) => a.name.localeCompare(b.name))) {
      const versions = await this.searchVersions(rm.name);
      const latest = versions.at(-1);
      if (!latest) continue;
      summaries.push({ name: rm.name, latestVersion: Number(latest.version), versionCount: versions.length, aliases: aliasMap(rm) });
    }
    return summaries;
  }

  async listVersions(model: string): Promise<ModelVersionSummary[]> {
    const rm = await this.getRegisteredModel(model);
    const versions = await this.searchVersions(model);
    if (versions.length === 0) throw new ModelNotFoundError(model);
    const aliases = aliasMap(rm);
    return versions.map((mv) => this.toSummary(mv, aliases));
  }

  async getVersion(model: string, version: number): Promise<ModelVersion> {
    assertValidVersion(version);
    const rm = await this.getRegisteredModel(model);
    const mv = await this.getRawVersion(model, version);
    if (mv.status !== undefined && mv.status !== "READY") {
      throw new VersionNotFoundError(model, version, `its registration is ${mv.status}`);
    }
    const manifestSha256 = tagValue(mv.tags, TAG.manifestSha256);
    if (!manifestSha256) {
      throw new RegistryError(`${model} v${version} was not registered by the funnel registry (no ${TAG.manifestSha256} tag); re-register it from its model directory`);
    }
    const manifestBytes = await this.client.downloadArtifactBuffer(`${artifactPathOf(mv.source)}/${MANIFEST_FILE}`);
    const actual = sha256Hex(manifestBytes);
    if (actual !== manifestSha256) throw new ChecksumMismatchError(`${model} v${version} ${MANIFEST_FILE}`, manifestSha256, actual);
    const manifest = parseModelManifest(JSON.parse(manifestBytes.toString("utf8")), `${mv.source}/${MANIFEST_FILE}`);
    return {
      ...this.toSummary(mv, aliasMap(rm)),
      manifest,
      manifestSha256,
      source: mv.source,
      ...(mv.run_id ? { runId: mv.run_id } : {}),
    };
  }

  async resolve(model: string, ref: number | string): Promise<ModelVersion> {
    const parsed = parseVersionRef(ref);
    if (parsed.kind === "version") return this.getVersion(model, parsed.version);
    const version = (await this.getAliases(model))[parsed.alias];
    if (version === undefined) throw new AliasNotFoundError(model, parsed.alias);
    return this.getVersion(model, version);
  }

  async getAliases(model: string): Promise<Record<string, number>> {
    return aliasMap(await this.getRegisteredModel(model));
  }

  async setAlias(model: string, alias: string, version: number, options: SetAliasOptions = {}): Promise<AliasEvent> {
    assertValidAlias(alias);
    assertValidVersion(version);
    const rm = await this.getRegisteredModel(model);
    const target = await this.getRawVersion(model, version);
    if (target.status !== undefined && target.status !== "READY") {
      throw new VersionNotFoundError(model, version, `its registration is ${target.status}`);
    }
    if (tagValue(target.tags, TAG.archived) !== undefined) {
      throw new FailedPreconditionError(`version ${version} of model "${model}" is archived; it cannot receive alias "${alias}"`);
    }
    const previous = aliasMap(rm)[alias] ?? null;
    await this.client.call("POST", "registered-models/alias", { name: model, alias, version: String(version) });
    const event: AliasEvent = {
      model,
      alias,
      at: new Date().toISOString(),
      action: options.action ?? "set",
      previousVersion: previous,
      newVersion: version,
      actor: this.actor,
      ...(options.reason ? { reason: options.reason.slice(0, 1000) } : {}),
    };
    await this.recordOrRevert(event);
    return event;
  }

  async deleteAlias(model: string, alias: string, options: { reason?: string } = {}): Promise<AliasEvent> {
    assertValidAlias(alias);
    const previous = (await this.getAliases(model))[alias];
    if (previous === undefined) throw new AliasNotFoundError(model, alias);
    await this.client.call("DELETE", "registered-models/alias", { name: model, alias });
    const event: AliasEvent = {
      model,
      alias,
      at: new Date().toISOString(),
      action: "delete",
      previousVersion: previous,
      newVersion: null,
      actor: this.actor,
      ...(options.reason ? { reason: options.reason.slice(0, 1000) } : {}),
    };
    await this.recordOrRevert(event);
    return event;
  }

  /** An alias move without its audit record would break "what was in production when", so undo the move. */
  private async recordOrRevert(event: AliasEvent): Promise<void> {
    try {
      await this.client.call("POST", "registered-models/set-tag", { name: event.model, key: this.nextAuditKey(), value: JSON.stringify(event) });
    } catch (err) {
      const revert =
        event.previousVersion === null
          ? this.client.call("DELETE", "registered-models/alias", { name: event.model, alias: event.alias })
          : this.client.call("POST", "registered-models/alias", { name: event.model, alias: event.alias, version: String(event.previousVersion) });
      await revert.catch(() => undefined);
      throw err;
    }
  }

  /** Keys sort in write order: zero-padded ms, then a per-process sequence, then randomness against other writers. */
  private nextAuditKey(): string {
    const now = Date.now();
    if (now === this.lastAuditMs) this.auditSeq += 1;
    else {
      this.lastAuditMs = now;
      this.auditSeq = 0;
    }
    return `${TAG.auditPrefix}${String(now).padStart(15, "0")}.${String(this.auditSeq).padStart(4, "0")}.${randomBytes(3).toString("hex")}`;
  }

  async aliasHistory(model: string, alias?: string): Promise<AliasEvent[]> {
    const rm = await this.getRegisteredModel(model);
    const events = (rm.tags ?? [])
      .filter((tag) => tag.key.startsWith(TAG.auditPrefix))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((tag) => parseAliasEvent(tag.value, `registered model "${model}" tag ${tag.key}`));
    return alias === undefined ? events : events.filter((event) => event.alias === alias);
  }

  async archive(model: string, version: number): Promise<ModelVersion> {
    const current = await this.getVersion(model, version);
    if (current.archived) return current;
    if (current.aliases.length > 0) {
      throw new FailedPreconditionError(
        `version ${version} of model "${model}" is the target of alias ${current.aliases.map((a) => `"${a}"`).join(", ")}; move the alias to another version before archiving`,
      );
    }
    await this.client.call("POST", "model-versions/set-tag", {
      name: model,
      version: String(version),
      key: TAG.archived,
      value: JSON.stringify({ archivedAt: new Date().toISOString(), archivedBy: this.actor }),
    });
    return this.getVersion(model, version);
  }

  async download(model: string, ref: number | string, dest: string, options: { onProgress?: ProgressListener } = {}): Promise<DownloadResult> {
    const version = await this.resolve(model, ref);
    const base = artifactPathOf(version.source);
    await materializeModelDirectory({
      dest,
      manifest: version.manifest,
      manifestBytes: await this.client.downloadArtifactBuffer(`${base}/${MANIFEST_FILE}`),
      manifestSha256: version.manifestSha256,
      openFile: (rel) => this.client.downloadArtifact(`${base}/${rel}`),
      phase: "download",
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    return { version, dir: path.resolve(dest) };
  }
}

function aliasMap(rm: MlflowRegisteredModel): Record<string, number> {
  return Object.fromEntries((rm.aliases ?? []).map((a) => [a.alias, Number(a.version)]));
}

/**
 * MLflow accepts metric names of alphanumerics, `_ - . : /` and spaces only, and refuses the whole batch
 * otherwise; training names its ranking metrics `recall@10`, `ndcg@10`. So `@` is logged as `_at_` (and any
 * other refused character as `_`) for the run's charts, while the manifest, which promotion reads, keeps
 * the names as they were.
 */
export function mlflowMetricKey(name: string): string {
  return name.replaceAll("@", "_at_").replace(/[^A-Za-z0-9_\-.:/ ]/g, "_");
}
