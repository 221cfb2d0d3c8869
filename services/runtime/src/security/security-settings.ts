// Settings of a serving process's security: TLS of its gRPC port, who may call what, and per-caller limits.
// Declared once here; every service and the router get them through runServices. All are off by default,
// so the embedded platform on loopback runs as before; Kubernetes turns them on with mounted Secrets.
import { setting, type ConfigOf, type SettingSpec } from "@funnel/settings";

/** TLS of the gRPC server. A certificate file turns TLS on; a client CA file turns on client certificates. */
export const serverTlsSettings = {
  certFile: setting.text({
    env: "FUNNEL_TLS_CERT_FILE",
    flag: "--tls-cert-file",
    default: "",
    allowEmpty: true,
    description: "Server certificate chain (PEM). Set with --tls-key-file to serve TLS; empty: plaintext. Re-read when it changes.",
  }),
  keyFile: setting.text({
    env: "FUNNEL_TLS_KEY_FILE",
    flag: "--tls-key-file",
    default: "",
    allowEmpty: true,
    description: "Private key (PEM) of --tls-cert-file.",
  }),
  clientCaFile: setting.text({
    env: "FUNNEL_TLS_CLIENT_CA_FILE",
    flag: "--tls-client-ca-file",
    default: "",
    allowEmpty: true,
    description: "CA bundle (PEM) client certificates are verified against (mutual TLS); a verified certificate identifies its caller.",
  }),
  requireClientCert: setting.boolean({
    env: "FUNNEL_TLS_REQUIRE_CLIENT_CERT",
    flag: "--tls-require-client-cert",
    default: false,
    description: "Refuse TLS connections without a client certificate signed by --tls-client-ca-file.",
  }),
  healthPort: setting.integer({
    env: "FUNNEL_HEALTH_PORT",
    flag: "--health-port",
    default: -1,
    min: -1,
    max: 65535,
    description: "A plaintext port serving only grpc.health.v1, for Kubernetes gRPC probes (they cannot speak TLS); -1: none.",
  }),
};

/** Caller authentication and per-method authorization. */
export const authSettings = {
  enabled: setting.boolean({
    env: "FUNNEL_AUTH",
    flag: "--auth",
    default: false,
    description: "Require every call to identify its caller (bearer token or verified client certificate) and check its roles per method.",
  }),
  callersFile: setting.text({
    env: "FUNNEL_AUTH_CALLERS_FILE",
    flag: "--auth-callers-file",
    default: "",
    allowEmpty: true,
    description: "YAML/JSON file (a mounted Secret) of callers: name, roles, sha256 of their tokens, client-certificate names; method rules. Re-read when it changes.",
  }),
  healthOpen: setting.boolean({
    env: "FUNNEL_AUTH_HEALTH_OPEN",
    flag: "--auth-health-open",
    default: true,
    description: "With --auth: answer grpc.health.v1 without credentials (kubelet probes send none).",
  }),
  reflectionOpen: setting.boolean({
    env: "FUNNEL_AUTH_REFLECTION_OPEN",
    flag: "--auth-reflection-open",
    default: false,
    description: "With --auth: answer server reflection without credentials.",
  }),
};

/** Per-caller limits, so that one caller cannot starve the others. */
export const callerLimitSettings = {
  ratePerSecond: setting.number({
    env: "FUNNEL_CALLER_RATE",
    flag: "--caller-rate",
    default: 0,
    min: 0,
    max: 1_000_000,
    description: "Calls per second each caller may make (token bucket); more get RESOURCE_EXHAUSTED with a retry hint. 0: no limit.",
  }),
  burst: setting.integer({
    env: "FUNNEL_CALLER_BURST",
    flag: "--caller-burst",
    default: 0,
    min: 0,
    max: 1_000_000,
    description: "Calls a caller may make at once above its rate (bucket size); 0: one second's worth of --caller-rate.",
  }),
  maxConcurrent: setting.integer({
    env: "FUNNEL_CALLER_MAX_CONCURRENT",
    flag: "--caller-max-concurrent",
    default: 0,
    min: 0,
    max: 1_000_000,
    description: "Calls each caller may have in flight; more get RESOURCE_EXHAUSTED at once. 0: no limit.",
  }),
};

/** How often mounted certificate and caller files are re-read (a Secret update lands within a minute). */
export const secretsReloadSetting = setting.integer({
  env: "FUNNEL_SECRETS_RELOAD_MS",
  flag: "--secrets-reload-ms",
  default: 5_000,
  min: 100,
  max: 3_600_000,
  description: "How often TLS certificate, key, CA and caller files are re-read; a changed valid file takes effect without a restart.",
});

export const securitySettings = { tls: serverTlsSettings, auth: authSettings, limits: callerLimitSettings, reloadMs: secretsReloadSetting };

export type SecurityConfig = ConfigOf<typeof securitySettings>;

/** Embedded defaults: plaintext, no auth, no limits. */
export const SECURITY_OFF: SecurityConfig = {
  tls: { certFile: "", keyFile: "", clientCaFile: "", requireClientCert: false, healthPort: -1 },
  auth: { enabled: false, callersFile: "", healthOpen: true, reflectionOpen: false },
  limits: { ratePerSecond: 0, burst: 0, maxConcurrent: 0 },
  reloadMs: 5_000,
};

/**
 * Security of one kind of outgoing connection (the router's upstreams, Milvus) under a prefix such as
 * `--router-upstream` / `FUNNEL_ROUTER_UPSTREAM`: `--router-upstream-tls`, `…-tls-ca-file`, `…-token-file`.
 * Each client is configured on its own, since each server may have its own CA or need its own credentials.
 */
export function clientSecuritySettings(prefix: { flag: string; env: string; what: string }) {
  const file = (suffix: string, envSuffix: string, description: string): SettingSpec<string> =>
    setting.text({ env: `${prefix.env}_${envSuffix}`, flag: `${prefix.flag}-${suffix}`, default: "", allowEmpty: true, description });
  return {
    tls: setting.boolean({
      env: `${prefix.env}_TLS`,
      flag: `${prefix.flag}-tls`,
      default: false,
      description: `Connect to ${prefix.what} over TLS (verified against the system CAs, or ${prefix.flag}-tls-ca-file).`,
    }),
    caFile: file("tls-ca-file", "TLS_CA_FILE", `CA bundle (PEM) that ${prefix.what}' certificates are verified against; empty: the system CAs.`),
    certFile: file("tls-cert-file", "TLS_CERT_FILE", `Client certificate (PEM) presented to ${prefix.what} (mutual TLS).`),
    keyFile: file("tls-key-file", "TLS_KEY_FILE", `Private key (PEM) of the client certificate for ${prefix.what}.`),
    serverName: file("tls-server-name", "TLS_SERVER_NAME", `Name expected in ${prefix.what}' certificates when it is not the address's host.`),
    tokenFile: file("token-file", "TOKEN_FILE", `File (a mounted Secret) holding the bearer token sent to ${prefix.what}; only sent over TLS.`),
  };
}

export type ClientSecurityConfig = ConfigOf<ReturnType<typeof clientSecuritySettings>>;
