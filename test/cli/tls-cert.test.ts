import { afterAll, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { certificateNames, tlsMaterial } from "../../src/cli/tls-cert.ts";
import { ConfigSchema } from "../../src/config/index.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

afterAll(cleanupTempDirs);

const configFor = (dataDir: string, extra: Record<string, unknown> = {}) => ConfigSchema.parse({ dataDir, tls: { port: 0 }, ...extra });

test("first start makes a CA and a server certificate it signs, with the appliance's names, every file 0600", () => {
  const dataDir = tempDir();
  const m = tlsMaterial(configFor(dataDir, { externalUrl: "https://cf.example.test" }));
  const dir = join(dataDir, "secrets", "tls");
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  for (const f of ["ca.pem", "ca-key.pem", "server.pem", "server-key.pem"]) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
  const ca = new X509Certificate(readFileSync(m.caFile!, "utf8"));
  const server = new X509Certificate(readFileSync(join(dir, "server.pem"), "utf8"));
  expect(ca.ca).toBe(true);
  expect(server.ca).toBe(false);
  expect(server.verify(ca.publicKey)).toBe(true);
  expect(server.checkIssued(ca)).toBe(true);
  for (const n of ["DNS:localhost", "IP Address:127.0.0.1", "DNS:cf.example.test", "DNS:*.apps.localhost"]) expect(server.subjectAltName).toContain(n);
  expect(m.fingerprint).toBe(ca.fingerprint256);
  expect(m.cert).toContain(readFileSync(m.caFile!, "utf8").trim());
});

test("a restart keeps both; new names make a new server certificate under the same CA", () => {
  const dataDir = tempDir();
  const first = tlsMaterial(configFor(dataDir));
  const again = tlsMaterial(configFor(dataDir));
  expect(again).toEqual(first);
  const renamed = tlsMaterial(configFor(dataDir, { tls: { port: 0, hostnames: ["cf.lan"] } }));
  expect(renamed.fingerprint).toBe(first.fingerprint);
  expect(renamed.cert).not.toBe(first.cert);
  expect(new X509Certificate(readFileSync(join(dataDir, "secrets", "tls", "server.pem"), "utf8")).subjectAltName).toContain("DNS:cf.lan");
});

test("the admin's certificate is used as given; a missing or bad one stops the start with a clear line", () => {
  const own = tempDir();
  const made = tlsMaterial(configFor(own));
  const dir = tempDir();
  writeFileSync(join(dir, "c.pem"), readFileSync(join(own, "secrets", "tls", "server.pem")));
  writeFileSync(join(dir, "k.pem"), readFileSync(join(own, "secrets", "tls", "server-key.pem")));
  const m = tlsMaterial(configFor(tempDir(), { tls: { port: 0, certFile: join(dir, "c.pem"), keyFile: join(dir, "k.pem") } }));
  expect(m.caFile).toBeNull();
  expect(m.cert).toBe(readFileSync(join(dir, "c.pem"), "utf8"));
  expect(made.caFile).not.toBeNull();
  expect(() => tlsMaterial(configFor(tempDir(), { tls: { port: 0, certFile: join(dir, "nope.pem"), keyFile: join(dir, "k.pem") } }))).toThrow(/cannot read the configured certificate/);
  writeFileSync(join(dir, "bad.pem"), "not a certificate");
  expect(() => tlsMaterial(configFor(tempDir(), { tls: { port: 0, certFile: join(dir, "bad.pem"), keyFile: join(dir, "k.pem") } }))).toThrow(/is not a PEM certificate/);
});

test("config: certFile without keyFile, a bad external URL or a bad proxy address is refused", () => {
  expect(ConfigSchema.safeParse({ tls: { certFile: "/x" } }).success).toBe(false);
  expect(ConfigSchema.safeParse({ externalUrl: "ftp://x" }).success).toBe(false);
  expect(ConfigSchema.safeParse({ externalUrl: "https://x/path" }).success).toBe(false);
  expect(ConfigSchema.parse({ externalUrl: "https://cf.example.test/" }).externalUrl).toBe("https://cf.example.test");
  expect(ConfigSchema.safeParse({ trustedProxies: ["10.0.0.0/33"] }).success).toBe(false);
  expect(ConfigSchema.safeParse({ trustedProxies: ["nginx"] }).success).toBe(false);
  expect(ConfigSchema.parse({ trustedProxies: ["10.0.0.0/8", "::1", "127.0.0.2"] }).trustedProxies).toHaveLength(3);
  expect(certificateNames(ConfigSchema.parse({ host: "0.0.0.0" }))).not.toContain("0.0.0.0");
});

test("serial numbers are minimal positive DER integers (BoringSSL refuses a leading zero byte), across many certificates", () => {
  for (let i = 0; i < 6; i++) {
    const dataDir = tempDir();
    tlsMaterial(configFor(dataDir));
    for (const f of ["ca.pem", "server.pem"]) {
      const serialHex = new X509Certificate(readFileSync(join(dataDir, "secrets", "tls", f), "utf8")).serialNumber;
      expect(serialHex).toMatch(/^[4-7][0-9A-F]{31}$/);
    }
  }
}, 60_000);
