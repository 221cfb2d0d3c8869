import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * HTTP proxy in front of the real MLflow server that injects the faults MLflow cannot be asked to produce:
 * 5xx answers, and model versions that are still PENDING_REGISTRATION.
 */
export interface FaultProxy {
  url: string;
  /** Answer the next `n` requests with 503 without forwarding them. */
  failNext(n: number): void;
  /** While set, every request whose path matches is answered 503 (e.g. /artifacts/: only downloads fail). */
  failMatching: RegExp | undefined;
  /** While true, READY model versions are reported as PENDING_REGISTRATION. */
  pending: boolean;
  failed: number;
  pendingServed: number;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  let toFail = 0;
  const state: { pending: boolean; failed: number; pendingServed: number; failMatching: RegExp | undefined } = { pending: false, failed: 0, pendingServed: 0, failMatching: undefined };

  const server: Server = createServer((req, res) => {
    const matched = state.failMatching?.test(req.url ?? "") ?? false;
    if (toFail > 0 || matched) {
      if (!matched) toFail -= 1;
      state.failed += 1;
      req.resume();
      res.writeHead(503, { "content-type": "text/plain" }).end("injected outage");
      return;
    }
    const rewrite = state.pending && (req.url ?? "").includes("/model-versions/");
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (up: IncomingMessage) => {
        if (!rewrite) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        up.on("data", (c: Buffer) => chunks.push(c));
        up.on("end", () => {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
            model_version?: { status?: string };
            model_versions?: { status?: string }[];
          };
          for (const mv of [body.model_version, ...(body.model_versions ?? [])]) {
            if (mv?.status === "READY") {
              mv.status = "PENDING_REGISTRATION";
              state.pendingServed += 1;
            }
          }
          const text = JSON.stringify(body);
          res.writeHead(up.statusCode ?? 502, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
          res.end(text);
        });
      },
    );
    forward.on("error", (err) => res.writeHead(502).end(String(err)));
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    failNext: (n) => {
      toFail = n;
    },
    get pending() {
      return state.pending;
    },
    set pending(value: boolean) {
      state.pending = value;
    },
    get failMatching() {
      return state.failMatching;
    },
    set failMatching(pattern: RegExp | undefined) {
      state.failMatching = pattern;
    },
    get failed() {
      return state.failed;
    },
    get pendingServed() {
      return state.pendingServed;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
