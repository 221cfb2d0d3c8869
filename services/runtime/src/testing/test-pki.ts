// A throwaway certificate authority for tests, made with the openssl CLI: a CA, server certificates for
// localhost/127.0.0.1 and client certificates with a given common name. EC P-256 keys keep it fast.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface IssuedCertificate {
  certFile: string;
  keyFile: string;
}

export class TestPki {
  readonly caFile: string;
  private readonly caKeyFile: string;
  private serial = 0;

  /** Creates a CA named `name` in `dir`. */
  constructor(
    private readonly dir: string,
    name = "funnel-test-ca",
  ) {
    mkdirSync(dir, { recursive: true });
    this.caFile = path.join(dir, `${name}.crt`);
    this.caKeyFile = path.join(dir, `${name}.key`);
    openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", `/CN=${name}`, "-keyout", this.caKeyFile, "-out", this.caFile]);
  }

  /** A server certificate for localhost and 127.0.0.1 (or the given names), signed by this CA. */
  server(file: string, names: string[] = ["localhost"]): IssuedCertificate {
    const san = [...names.map((n) => `DNS:${n}`), "IP:127.0.0.1"].join(",");
    return this.issue(file, names[0]!, [`subjectAltName=${san}`, "extendedKeyUsage=serverAuth"]);
  }

  /**
   * A client certificate whose subject CN is `commonName`, signed by this CA; `usage: "none"` leaves out the
   * extended key usage (as cert-manager's default serving certificates do), `"serverAuth"` makes it a server's.
   */
  client(file: string, commonName: string, usage: "clientAuth" | "serverAuth" | "none" = "clientAuth"): IssuedCertificate {
    return this.issue(file, commonName, [`subjectAltName=DNS:${commonName}`, ...(usage === "none" ? [] : [`extendedKeyUsage=${usage}`])]);
  }

  private issue(file: string, commonName: string, extensions: string[]): IssuedCertificate {
    const base = path.join(this.dir, file);
    const csr = `${base}.csr`;
    const ext = `${base}.ext`;
    const issued = { certFile: `${base}.crt`, keyFile: `${base}.key` };
    openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", `/CN=${commonName}`, "-keyout", issued.keyFile, "-out", csr]);
    writeFileSync(ext, `${extensions.join("\n")}\n`);
    openssl(["x509", "-req", "-in", csr, "-CA", this.caFile, "-CAkey", this.caKeyFile, "-set_serial", String(++this.serial + Date.now()), "-days", "2", "-extfile", ext, "-out", issued.certFile]);
    return issued;
  }
}

function openssl(args: string[]): void {
  try {
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  } catch (error) {
    throw new Error(`openssl ${args[0]} failed (the TLS tests need the openssl CLI): ${(error as { stderr?: Buffer }).stderr?.toString() ?? (error as Error).message}`);
  }
}
