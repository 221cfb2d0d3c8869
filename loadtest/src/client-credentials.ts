// Channel credentials for a secured deployment (the router serves TLS and wants a bearer token), from the
// load generator's flags. Files are read once: a load run is short, unlike a server that must follow rotations.
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";

export interface ClientCredentialFlags {
  /** TLS verified against the system CAs, or caFile. */
  tls?: boolean;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Name expected in the server's certificate when it is not the target's host (a port-forward). */
  serverName?: string;
  tokenFile?: string;
}

export function clientCredentials(flags: ClientCredentialFlags): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions; tls: boolean } {
  const tls = flags.tls === true || Boolean(flags.caFile || flags.certFile || flags.keyFile || flags.serverName);
  if (!tls) {
    // grpc-js sends call credentials only over TLS; a token in plaintext would be refused or leak.
    if (flags.tokenFile) throw new Error("--token-file needs TLS (--tls or --ca-file): a token is never sent in plaintext");
    return { credentials: grpc.credentials.createInsecure(), options: {}, tls };
  }
  if (Boolean(flags.certFile) !== Boolean(flags.keyFile)) throw new Error("--cert-file needs --key-file and the other way round");
  const read = (file: string | undefined) => (file ? readFileSync(file) : null);
  let credentials = grpc.credentials.createSsl(read(flags.caFile), read(flags.keyFile), read(flags.certFile));
  if (flags.tokenFile) {
    const token = readFileSync(flags.tokenFile, "utf8").trim();
    if (!token) throw new Error(`--token-file ${flags.tokenFile} is empty`);
    const bearer = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
      const metadata = new grpc.Metadata();
      metadata.set("authorization", `Bearer ${token}`);
      callback(null, metadata);
    });
    credentials = grpc.credentials.combineChannelCredentials(credentials, bearer);
  }
  const options: grpc.ChannelOptions = flags.serverName ? { "grpc.ssl_target_name_override": flags.serverName, "grpc.default_authority": flags.serverName } : {};
  return { credentials, options, tls };
}
