// gRPC credentials from the TLS settings: the server's (plaintext when no certificate is configured) and a
// client's for an outgoing connection. Both are backed by CertificateFiles, so renewed files are served and
// presented without a restart.
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { ConfigError } from "@funnel/settings";
import { CertificateFiles } from "./certificate-files.js";
import type { ClientSecurityConfig, SecurityConfig } from "./security-settings.js";
import { WatchedFiles } from "./watched-files.js";

export interface ServerTls {
  credentials: grpc.ServerCredentials;
  /** The watched files, when TLS is on. */
  files: CertificateFiles | undefined;
}

/** Server credentials for the configured TLS; plaintext when no certificate file is set. */
export function serverTls(config: Pick<SecurityConfig, "tls" | "reloadMs">, log: Logger): ServerTls {
  const { certFile, keyFile, clientCaFile, requireClientCert } = config.tls;
  if (!certFile && !keyFile) {
    if (clientCaFile || requireClientCert) throw new ConfigError("--tls-client-ca-file and --tls-require-client-cert need TLS: set --tls-cert-file and --tls-key-file too");
    return { credentials: grpc.ServerCredentials.createInsecure(), files: undefined };
  }
  if (!certFile || !keyFile) throw new ConfigError("--tls-cert-file and --tls-key-file (env FUNNEL_TLS_CERT_FILE, FUNNEL_TLS_KEY_FILE) must be set together");
  if (requireClientCert && !clientCaFile) throw new ConfigError("--tls-require-client-cert needs --tls-client-ca-file (env FUNNEL_TLS_CLIENT_CA_FILE), the CA client certificates are verified against");
  const files = new CertificateFiles({ certFile, keyFile, caFile: clientCaFile || undefined, intervalMs: config.reloadMs, log, what: "server TLS certificate" });
  // grpc-js names this function's parameters (ca, identity) but passes them on as (identity, ca): the first
  // provider gives the server's certificate, the second (or null: no client certificates) the client CA.
  const credentials = grpc.experimental.createCertificateProviderServerCredentials(files, clientCaFile ? files : null, requireClientCert);
  return { credentials, files };
}

export interface ClientTls {
  credentials: grpc.ChannelCredentials;
  /** Channel options the credentials need (the expected server name). */
  options: grpc.ChannelOptions;
  close(): void;
}

/**
 * Credentials of one kind of outgoing gRPC connection: plaintext unless `tls`; with a CA file, the CA and
 * the client certificate are re-read when they change; with a token file, every call carries
 * `authorization: Bearer <token>` (re-read too). grpc-js sends call credentials only over TLS, and so do we.
 */
export function clientTls(config: ClientSecurityConfig, reloadMs: number, log: Logger, what: string): ClientTls {
  const options: grpc.ChannelOptions = config.serverName ? { "grpc.ssl_target_name_override": config.serverName, "grpc.default_authority": config.serverName } : {};
  if (!config.tls) {
    if (config.caFile || config.certFile || config.keyFile || config.tokenFile) {
      throw new ConfigError(`TLS files or a token file are set for ${what} but TLS to it is off; turn it on (a token is never sent in plaintext) or unset them`);
    }
    return { credentials: grpc.credentials.createInsecure(), options: {}, close: () => undefined };
  }
  if (Boolean(config.certFile) !== Boolean(config.keyFile)) throw new ConfigError(`${what}: a client certificate file needs its key file and the other way round`);
  const closers: (() => void)[] = [];
  let credentials: grpc.ChannelCredentials;
  if (config.caFile) {
    const files = new CertificateFiles({
      caFile: config.caFile,
      certFile: config.certFile || undefined,
      keyFile: config.keyFile || undefined,
      intervalMs: reloadMs,
      log,
      what: `${what} TLS files`,
    });
    closers.push(() => files.close());
    credentials = grpc.experimental.createCertificateProviderChannelCredentials(files, config.certFile ? files : null);
  } else {
    // The system CAs: nothing to reload but the client certificate, which is read once here.
    credentials = grpc.credentials.createSsl(null, config.keyFile ? readFileSync(config.keyFile) : null, config.certFile ? readFileSync(config.certFile) : null);
  }
  if (config.tokenFile) {
    const token = new WatchedFiles({
      what: `${what} token`,
      files: [config.tokenFile],
      intervalMs: reloadMs,
      log,
      parse: ([content]) => {
        const text = content!.toString("utf8").replace(/\r?\n$/, "");
        if (!/^[\x21-\x7e]+$/.test(text)) throw new Error("the token file must hold one token of visible ASCII characters");
        return text;
      },
    }).watch();
    closers.push(() => token.close());
    const bearer = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
      const metadata = new grpc.Metadata();
      metadata.set("authorization", `Bearer ${token.current}`);
      callback(null, metadata);
    });
    credentials = grpc.credentials.combineChannelCredentials(credentials, bearer);
  }
  return {
    credentials,
    options,
    close: () => {
      for (const close of closers) close();
    },
  };
}
