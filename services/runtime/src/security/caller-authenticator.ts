// Who is calling, and may they call this method: a bearer token in `authorization` metadata (looked up by
// its hash in the callers file), else the verified client certificate of a mutual-TLS connection. Messages
// say what to fix and never repeat a token.
import type { Metadata } from "@grpc/grpc-js";
import type { PeerCertificate } from "node:tls";
import type { Logger } from "pino";
import { PermissionDeniedError, UnauthenticatedError } from "../errors.js";
import { ANY_CALLER, hashToken, parseCallersFile, type Caller, type CallersFile } from "./callers-file.js";
import { WatchedFiles } from "./watched-files.js";

const BEARER = /^Bearer +([\x21-\x7e]+)$/i;

/** id-kp-clientAuth (RFC 5280 4.2.1.12): the extended key usage of a certificate made to identify a client. */
export const CLIENT_AUTH_EKU = "1.3.6.1.5.5.7.3.2";

export class CallerAuthenticator {
  private readonly file: WatchedFiles<CallersFile>;

  constructor(options: { callersFile: string; reloadMs: number; log: Logger }) {
    this.file = new WatchedFiles({
      what: "callers file",
      files: [options.callersFile],
      intervalMs: options.reloadMs,
      log: options.log,
      parse: ([content]) => parseCallersFile(content!.toString("utf8")),
      describe: (callers) => ({ callers: callers.callers }),
    }).watch();
    options.log.info({ file: options.callersFile, callers: this.file.current.callers }, "caller authentication on");
  }

  close(): void {
    this.file.close();
  }

  /** The caller, or UnauthenticatedError saying what credentials to send. */
  identify(metadata: Metadata, certificate: PeerCertificate | undefined): Caller {
    const callers = this.file.current;
    const header = metadata.get("authorization");
    if (header.length > 0) {
      const match = typeof header[0] === "string" && header.length === 1 ? BEARER.exec(header[0]) : null;
      if (!match) throw new UnauthenticatedError('the authorization metadata must be one value "Bearer <token>"');
      const caller = callers.byTokenHash.get(hashToken(match[1]!));
      if (!caller) throw new UnauthenticatedError("the bearer token is not known to this server (mistyped, revoked or for another environment); ask its operator for a valid token");
      return caller;
    }
    if (certificate) {
      const names = certificateNames(certificate);
      // TLS accepts a certificate with no extended key usage as a client's (cert-manager issues serving
      // certificates so), and a serving certificate's SANs may well name a caller (funnel-router): only a
      // certificate issued for client authentication identifies a caller.
      if (!certificate.ext_key_usage?.includes(CLIENT_AUTH_EKU)) {
        throw new UnauthenticatedError(
          `the client certificate (${names.join(", ") || "no names"}) does not carry the clientAuth extended key usage, so it identifies no caller (a serving certificate is not a caller's); issue a client certificate (cert-manager: usages [client auth]; openssl: extendedKeyUsage=clientAuth) or send a bearer token`,
        );
      }
      for (const name of names) {
        const caller = callers.byCertificateName.get(name);
        if (caller) return caller;
      }
      throw new UnauthenticatedError(`the client certificate (${names.join(", ") || "no names"}) belongs to no caller of this server; add one of its names to a caller's certificates in the callers file`);
    }
    throw new UnauthenticatedError('no credentials: send "authorization: Bearer <token>" metadata, or connect with a client certificate signed by the server\'s client CA');
  }

  /** Throws PermissionDeniedError unless one of the caller's roles may call `method` ("Service/Method"). */
  authorize(caller: Caller, method: string): void {
    const allowed = this.file.current.methodRoles[method];
    if (!allowed || allowed.includes(ANY_CALLER)) return;
    if (caller.roles.some((role) => allowed.includes(role))) return;
    throw new PermissionDeniedError(`caller "${caller.name}" (roles: ${caller.roles.join(", ")}) may not call ${method}; it needs one of the roles: ${allowed.join(", ")}`);
  }
}

/** Subject CN and DNS/URI subject alternative names of a verified client certificate. */
export function certificateNames(certificate: PeerCertificate): string[] {
  const names: string[] = [];
  const cn = certificate.subject?.CN;
  if (typeof cn === "string") names.push(cn);
  else if (Array.isArray(cn)) names.push(...cn);
  for (const entry of (certificate.subjectaltname ?? "").split(/,\s*/)) {
    const match = /^(DNS|URI):(.+)$/.exec(entry);
    if (match && !names.includes(match[2]!)) names.push(match[2]!);
  }
  return names;
}
