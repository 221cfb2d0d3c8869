// Channel credentials for a secured deployment (the router serves TLS and wants a bearer token), from the
// load generator's flags. The runtime's client TLS builds them, so the rules are the servers' own (a token
// only over TLS, a certificate only with its key); this file only maps the flags.
import { type ClientTls, clientTls, createLogger } from "@funnel/runtime";

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

export function clientCredentials(flags: ClientCredentialFlags): ClientTls & { tls: boolean } {
  const tls = flags.tls === true || Boolean(flags.caFile || flags.certFile || flags.keyFile || flags.serverName);
  // Said in the flags' own words; the runtime would refuse it too, naming its settings.
  if (!tls && flags.tokenFile) throw new Error("--token-file needs TLS (--tls or --ca-file): a token is never sent in plaintext");
  const config = {
    tls,
    caFile: flags.caFile ?? "",
    certFile: flags.certFile ?? "",
    keyFile: flags.keyFile ?? "",
    serverName: flags.serverName ?? "",
    tokenFile: flags.tokenFile ?? "",
  };
  // A load run is short: files are read at start and the watchers (unref'd timers) closed with the run.
  return { ...clientTls(config, 60_000, createLogger("warn"), "the load target"), tls };
}
