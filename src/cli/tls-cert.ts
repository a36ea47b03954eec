import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import forge from "node-forge";
import type { Config } from "../config/index.ts";
import { writeFileAtomic } from "../store/index.ts";
import { CliError } from "./command.ts";

/**
 * The TLS certificate of the HTTPS listener: the admin's (config tls.certFile
 * and tls.keyFile) or the appliance's own, made on first start. Its own is a
 * private CA (10 years) and a server certificate it signs (825 days, the
 * longest clients accept) naming localhost, 127.0.0.1, ::1, the listen host,
 * externalUrl's host, *.router.domain and tls.hostnames. All four PEM files
 * live in <dataDir>/secrets/tls with mode 0600. The server certificate is
 * made again (same CA, so a trusted CA stays trusted) when the names change
 * or it nears expiry.
 *
 * Library: node-forge builds and signs the X.509 certificates (one package,
 * no dependencies, widely used); the RSA keys come from node:crypto, which is
 * native and fast, so nothing depends on an openssl binary on the machine.
 */
export interface TlsMaterial {
  cert: string;
  key: string;
  /** Our own CA's certificate file, when the appliance made the certificate (null for the admin's). */
  caFile: string | null;
  /** SHA-256 fingerprint of the CA (ours) or of the server certificate (the admin's), as AA:BB:... */
  fingerprint: string;
}

const DAY = 24 * 3600 * 1000;

function fingerprintOf(pem: string): string {
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(forge.pki.certificateFromPem(pem))).getBytes(), "binary");
  return createHash("sha256").update(der).digest("hex").toUpperCase().match(/../g)!.join(":");
}

function rsaKeys(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { privatePem: privateKey.export({ type: "pkcs8", format: "pem" }) as string, publicPem: publicKey.export({ type: "spki", format: "pem" }) as string };
}

/**
 * A random positive serial number in minimal DER form (RFC 5280: at most 20
 * octets): 16 bytes whose first has the top bit clear (positive) and the next
 * bit set (never a leading zero byte, which strict parsers such as
 * BoringSSL's reject as a non-minimal INTEGER).
 */
function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x40;
  return b.toString("hex");
}

function makeCa(now: Date): { certPem: string; keyPem: string } {
  const k = rsaKeys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(k.publicPem);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - DAY);
  cert.validity.notAfter = new Date(now.getTime() + 3650 * DAY);
  const name = [{ name: "commonName", value: "Eirini appliance CA" }, { name: "organizationName", value: "Eirini appliance" }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(k.privatePem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: k.privatePem };
}

function makeServer(ca: { certPem: string; keyPem: string }, names: string[], now: Date): { certPem: string; keyPem: string } {
  const k = rsaKeys();
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(k.publicPem);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - DAY);
  cert.validity.notAfter = new Date(now.getTime() + 825 * DAY);
  cert.setSubject([{ name: "commonName", value: names[0]! }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    { name: "subjectAltName", altNames: names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
    { name: "authorityKeyIdentifier", keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(ca.keyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: k.privatePem };
}

/** The names the generated server certificate must carry for this config. */
export function certificateNames(config: Config): string[] {
  const names = ["localhost", "127.0.0.1", "::1"];
  const add = (n: string | undefined) => {
    const v = n?.replace(/^\[|\]$/g, "").toLowerCase();
    if (v && v !== "0.0.0.0" && v !== "::" && !names.includes(v)) names.push(v);
  };
  add(config.host);
  if (config.externalUrl) add(new URL(config.externalUrl).hostname);
  add(config.router.domain);
  add(`*.${config.router.domain}`);
  for (const h of config.tls.hostnames) add(h);
  return names;
}

/** Loads the admin's certificate, or loads (making when needed) the appliance's own. */
export function tlsMaterial(config: Config, now = new Date()): TlsMaterial {
  const { certFile, keyFile } = config.tls;
  if (certFile && keyFile) {
    let cert: string;
    let key: string;
    try {
      cert = readFileSync(certFile, "utf8");
      key = readFileSync(keyFile, "utf8");
    } catch (err) {
      throw new CliError(`tls: cannot read the configured certificate: ${(err as Error).message}`, 1, { cause: err });
    }
    let fingerprint: string;
    try {
      fingerprint = fingerprintOf(cert);
    } catch (err) {
      throw new CliError(`tls: ${certFile} is not a PEM certificate`, 1, { cause: err });
    }
    return { cert, key, caFile: null, fingerprint };
  }
  const dir = join(config.dataDir, "secrets", "tls");
  const files = { caCert: join(dir, "ca.pem"), caKey: join(dir, "ca-key.pem"), cert: join(dir, "server.pem"), key: join(dir, "server-key.pem"), names: join(dir, "server-names.json") };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  let ca: { certPem: string; keyPem: string };
  if (existsSync(files.caCert) && existsSync(files.caKey)) {
    ca = { certPem: readFileSync(files.caCert, "utf8"), keyPem: readFileSync(files.caKey, "utf8") };
  } else {
    ca = makeCa(now);
    // Key first: a crash between the two leaves no CA certificate without its key.
    writeFileAtomic(files.caKey, ca.keyPem, 0o600);
    writeFileAtomic(files.caCert, ca.certPem, 0o600);
  }
  const names = certificateNames(config);
  const current = existsSync(files.cert) && existsSync(files.key) && existsSync(files.names) ? readFileSync(files.cert, "utf8") : null;
  const sameNames = current !== null && readFileSync(files.names, "utf8") === JSON.stringify(names);
  const fresh = current !== null && forge.pki.certificateFromPem(current).validity.notAfter.getTime() - now.getTime() > 30 * DAY;
  if (!sameNames || !fresh) {
    const srv = makeServer(ca, names, now);
    writeFileAtomic(files.key, srv.keyPem, 0o600);
    writeFileAtomic(files.cert, srv.certPem, 0o600);
    writeFileAtomic(files.names, JSON.stringify(names), 0o600);
  }
  return {
    // The chain: server certificate, then the CA, so clients that trust the CA verify it.
    cert: `${readFileSync(files.cert, "utf8").trim()}\n${ca.certPem.trim()}\n`,
    key: readFileSync(files.key, "utf8"),
    caFile: files.caCert,
    fingerprint: fingerprintOf(ca.certPem),
  };
}
