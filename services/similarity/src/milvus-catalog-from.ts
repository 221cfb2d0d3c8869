// The Milvus catalog a module's settings describe: none without an address; TLS and a token from the shared
// Milvus security settings, with the same rules as every other client (a token only over TLS).
import { ConfigError, secretValue, type ClientSecurityConfig } from "@funnel/runtime";
import { MilvusCatalog } from "@funnel/vector-index";
import { milvusSecuritySettings } from "./config.js";

export function milvusCatalogFrom(address: string, security: ClientSecurityConfig): MilvusCatalog | undefined {
  if (!address) return undefined;
  if (!security.tls && (security.caFile || security.certFile || security.keyFile || security.tokenFile)) {
    throw new ConfigError(`TLS files or a token file are set for Milvus but ${milvusSecuritySettings.tls.flag} is off; turn it on (credentials are never sent in plaintext) or unset them`);
  }
  if (Boolean(security.certFile) !== Boolean(security.keyFile)) throw new ConfigError("Milvus: a client certificate file needs its key file and the other way round");
  const token = secretValue({ value: "", file: security.tokenFile }, { value: milvusSecuritySettings.tokenFile, file: milvusSecuritySettings.tokenFile });
  return new MilvusCatalog({
    address,
    ...(security.tls
      ? { tls: { caFile: security.caFile || undefined, certFile: security.certFile || undefined, keyFile: security.keyFile || undefined, serverName: security.serverName || undefined } }
      : {}),
    ...(token ? { token } : {}),
  });
}
