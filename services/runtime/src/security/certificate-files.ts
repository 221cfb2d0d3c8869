// A certificate (and key, and/or CA bundle) read from mounted files and handed to grpc-js as a
// CertificateProvider, so a server or channel picks up a renewed certificate without a restart. grpc-js ships
// a FileWatcherCertificateProvider, but it passes every read on unchecked: a certificate and key caught
// mid-rotation (they do not change at the same instant) would take the server's credentials away until the
// next read. Here a set is passed on only once the key matches the certificate.
import { X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";
import type { experimental } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { WatchedFiles } from "./watched-files.js";

type CertificateProvider = experimental.CertificateProvider;
type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

export interface CertificateFilesOptions {
  /** Certificate chain and its private key (PEM): an identity. */
  certFile?: string;
  keyFile?: string;
  /** CA bundle (PEM) peers are verified against. */
  caFile?: string;
  intervalMs: number;
  log: Logger;
  /** For logs, e.g. "server TLS certificate". */
  what: string;
}

interface Loaded {
  certificate?: Buffer;
  privateKey?: Buffer;
  caCertificate?: Buffer;
  /** SHA-256 fingerprint of the leaf certificate, for logs (never the key). */
  fingerprint?: string;
  notAfter?: string;
}

export class CertificateFiles implements CertificateProvider {
  private readonly files: WatchedFiles<Loaded>;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();

  constructor(options: CertificateFilesOptions) {
    if (Boolean(options.certFile) !== Boolean(options.keyFile)) throw new Error(`${options.what}: a certificate file needs its key file and the other way round`);
    const names = [options.certFile, options.keyFile, options.caFile].filter((file): file is string => Boolean(file));
    this.files = new WatchedFiles<Loaded>({
      what: options.what,
      files: names,
      intervalMs: options.intervalMs,
      log: options.log,
      parse: (contents) => parseCertificates(options, contents),
      describe: ({ fingerprint, notAfter }) => ({ fingerprint, notAfter }),
      onChange: (loaded) => this.publish(loaded),
    });
    const { fingerprint, notAfter } = this.files.current;
    if (fingerprint) options.log.info({ files: names, fingerprint, notAfter }, `${options.what} loaded`);
  }

  /** SHA-256 fingerprint of the certificate in force. */
  get fingerprint(): string | undefined {
    return this.files.current.fingerprint;
  }

  close(): void {
    this.files.close();
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    this.files.watch();
    const { caCertificate } = this.files.current;
    process.nextTick(listener, caCertificate ? { caCertificate } : null);
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
    this.maybeStop();
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    this.files.watch();
    const { certificate, privateKey } = this.files.current;
    process.nextTick(listener, certificate && privateKey ? { certificate, privateKey } : null);
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
    this.maybeStop();
  }

  private maybeStop(): void {
    if (this.caListeners.size === 0 && this.identityListeners.size === 0) this.files.close();
  }

  private publish({ certificate, privateKey, caCertificate }: Loaded): void {
    for (const listener of this.identityListeners) listener(certificate && privateKey ? { certificate, privateKey } : null);
    for (const listener of this.caListeners) listener(caCertificate ? { caCertificate } : null);
  }
}

function parseCertificates(options: CertificateFilesOptions, contents: Buffer[]): Loaded {
  const loaded: Loaded = {};
  let next = 0;
  if (options.certFile) {
    loaded.certificate = contents[next++]!;
    loaded.privateKey = contents[next++]!;
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(loaded.certificate);
    } catch (error) {
      throw new Error(`${options.certFile} is not a PEM certificate (${(error as Error).message})`);
    }
    try {
      // Throws when the key does not belong to the certificate (e.g. caught between the two files' updates).
      createSecureContext({ cert: loaded.certificate, key: loaded.privateKey });
    } catch (error) {
      throw new Error(`${options.keyFile} is not the private key of ${options.certFile} (${(error as Error).message})`);
    }
    loaded.fingerprint = leaf.fingerprint256;
    loaded.notAfter = leaf.validTo;
  }
  if (options.caFile) {
    loaded.caCertificate = contents[next]!;
    try {
      createSecureContext({ ca: loaded.caCertificate });
      new X509Certificate(loaded.caCertificate);
    } catch (error) {
      throw new Error(`${options.caFile} is not a PEM CA bundle (${(error as Error).message})`);
    }
  }
  return loaded;
}
