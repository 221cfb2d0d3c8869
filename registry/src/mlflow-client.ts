import axios, { type AxiosInstance, type AxiosResponse, type Method } from "axios";
import { readFileSync } from "node:fs";
import { Agent } from "node:https";
import type { Readable } from "node:stream";
import { RegistryError, RegistryUnavailableError } from "./errors.js";

export interface MlflowClientOptions {
  /** Attempts after the first one for network errors, 5xx and 429. */
  retries?: number;
  /** First backoff delay; doubles on each retry (with jitter). */
  backoffMs?: number;
  timeoutMs?: number;
  /** HTTPS: the CA bundle (PEM) the server's certificate is verified against, instead of the system CAs. */
  caFile?: string;
  /** HTTPS: a client certificate and its key in one PEM file (MLflow's MLFLOW_TRACKING_CLIENT_CERT_PATH). */
  clientCertFile?: string;
  /** Basic auth (MLflow's built-in auth app) or a bearer token (a proxy in front of MLflow). */
  credentials?: { username: string; password: string } | { token: string };
}

/** A 4xx answer from MLflow: the request was understood and refused, so retrying cannot help. */
export class MlflowApiError extends RegistryError {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    detail: string,
    readonly endpoint: string,
  ) {
    super(`MLflow ${endpoint} answered ${status} ${errorCode}: ${detail}`);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function retryable(response: AxiosResponse | undefined): boolean {
  return response === undefined || response.status >= 500 || response.status === 429;
}

/**
 * Thin MLflow REST 2.0 client. Retries are done here rather than with an axios plugin because artifact
 * uploads stream a file: each attempt needs a fresh stream, so the body is built per attempt.
 */
export class MlflowClient {
  private readonly http: AxiosInstance;
  private readonly retries: number;
  private readonly backoffMs: number;

  constructor(
    readonly baseUrl: string,
    options: MlflowClientOptions = {},
  ) {
    this.retries = options.retries ?? 4;
    this.backoffMs = options.backoffMs ?? 250;
    const clientCert = options.clientCertFile ? readFileSync(options.clientCertFile) : undefined;
    const credentials = options.credentials;
    this.http = axios.create({
      baseURL: baseUrl.replace(/\/+$/, ""),
      // Files are read once per client: the CLI and training make one per command, a server one per start.
      ...(options.caFile || clientCert
        ? { httpsAgent: new Agent({ keepAlive: true, ca: options.caFile ? readFileSync(options.caFile) : undefined, cert: clientCert, key: clientCert }) }
        : {}),
      ...(credentials && "token" in credentials ? { headers: { authorization: `Bearer ${credentials.token}` } } : {}),
      ...(credentials && "username" in credentials ? { auth: credentials } : {}),
      timeout: options.timeoutMs ?? 60_000,
      // Every status is inspected here so 4xx become MlflowApiError and 5xx are retried.
      validateStatus: () => true,
      maxBodyLength: Number.POSITIVE_INFINITY,
      maxContentLength: Number.POSITIVE_INFINITY,
    });
  }

  private async send<T>(
    endpoint: string,
    makeConfig: () => { method: Method; url: string; params?: unknown; data?: unknown; headers?: Record<string, string>; responseType?: "json" | "stream" | "arraybuffer" },
  ): Promise<AxiosResponse<T>> {
    let lastProblem = "";
    for (let attempt = 0; attempt <= this.retries; attempt += 1) {
      if (attempt > 0) {
        const delay = this.backoffMs * 2 ** (attempt - 1);
        await sleep(delay / 2 + Math.random() * delay);
      }
      let response: AxiosResponse<T> | undefined;
      try {
        response = await this.http.request<T>(makeConfig());
      } catch (err) {
        lastProblem = axios.isAxiosError(err) ? `${err.code ?? "network error"}: ${err.message}` : String(err);
        continue;
      }
      if (retryable(response)) {
        if (response.data && typeof (response.data as unknown as Readable).resume === "function") {
          (response.data as unknown as Readable).resume();
        }
        lastProblem = `HTTP ${response.status} from ${endpoint}`;
        continue;
      }
      if (response.status >= 400) {
        const body = await readErrorBody(response.data);
        throw new MlflowApiError(response.status, body.error_code ?? "UNKNOWN", body.message ?? "", endpoint);
      }
      return response;
    }
    throw new RegistryUnavailableError(this.baseUrl, `${lastProblem} (after ${this.retries + 1} attempts)`);
  }

  /** JSON call to `/api/2.0/mlflow/<path>`. GET params go in the query string; other methods send a JSON body. */
  async call<T>(method: "GET" | "POST" | "PATCH" | "DELETE", path: string, payload: Record<string, unknown> = {}): Promise<T> {
    const url = `/api/2.0/mlflow/${path}`;
    const response = await this.send<T>(path, () =>
      method === "GET" ? { method, url, params: payload } : { method, url, data: payload, headers: { "content-type": "application/json" } },
    );
    return response.data;
  }

  /** Uploads through the artifact proxy (`mlflow server --serve-artifacts`). */
  async uploadArtifact(artifactPath: string, makeBody: () => Readable | Buffer, bytes: number): Promise<void> {
    await this.send(`artifacts/${artifactPath}`, () => ({
      method: "PUT",
      url: `/api/2.0/mlflow-artifacts/artifacts/${encodePath(artifactPath)}`,
      data: makeBody(),
      headers: { "content-type": "application/octet-stream", "content-length": String(bytes) },
    }));
  }

  async downloadArtifact(artifactPath: string): Promise<Readable> {
    const response = await this.send<Readable>(`artifacts/${artifactPath}`, () => ({
      method: "GET",
      url: `/api/2.0/mlflow-artifacts/artifacts/${encodePath(artifactPath)}`,
      responseType: "stream",
    }));
    return response.data;
  }

  async downloadArtifactBuffer(artifactPath: string): Promise<Buffer> {
    const response = await this.send<ArrayBuffer>(`artifacts/${artifactPath}`, () => ({
      method: "GET",
      url: `/api/2.0/mlflow-artifacts/artifacts/${encodePath(artifactPath)}`,
      responseType: "arraybuffer",
    }));
    return Buffer.from(response.data);
  }
}

function encodePath(artifactPath: string): string {
  return artifactPath.split("/").map(encodeURIComponent).join("/");
}

async function readErrorBody(data: unknown): Promise<{ error_code?: string; message?: string }> {
  let value = data;
  if (value && typeof (value as Readable).pipe === "function") {
    const chunks: Buffer[] = [];
    for await (const chunk of value as Readable) chunks.push(Buffer.from(chunk as Buffer));
    value = Buffer.concat(chunks);
  }
  if (value instanceof ArrayBuffer) value = Buffer.from(value);
  if (Buffer.isBuffer(value)) value = value.toString("utf8");
  if (typeof value === "string") {
    const text = value;
    try {
      value = JSON.parse(text);
    } catch {
      return { message: text.slice(0, 300) };
    }
  }
  return typeof value === "object" && value !== null ? (value as { error_code?: string; message?: string }) : {};
}
