import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describeCf, FIXTURES, startCfSession, type CfSession } from "../support/cf-cli.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs } from "../support/tmp.ts";

/**
 * The cf CLI over HTTPS: the appliance serves TLS on a second port
 * (`--tls-port 0`) with the certificate it made on first start; the CLI
 * targets the https URL, every link it follows is https, and an app pushed
 * over https answers through the router on the TLS port.
 */
let s: CfSession;
let tlsUrl = "";
let caFile = "";

describeCf("real cf CLI over HTTPS (generated certificate)", () => {
  beforeAll(async () => {
    s = await startCfSession({
      args: ["--tls-port", "0"],
      apiUrl: async (eirini, dataDir) => {
        tlsUrl = await waitFor(() => /eirini TLS listening on (\S+)/.exec(eirini.stdout())?.[1], { what: "the TLS listener line" });
        caFile = join(dataDir, "secrets", "tls", "ca.pem");
        return tlsUrl;
      },
    });
  }, 120_000);
  afterAll(async () => {
    await s?.stop();
    cleanupTempDirs();
  });

  test("the CA is printed with its fingerprint and stored 0600; links are https", async () => {
    expect(s.eirini.stdout()).toMatch(new RegExp(`own CA ${caFile.replaceAll("/", "\\/")} \\(SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}\\)`));
    for (const f of ["ca.pem", "ca-key.pem", "server.pem", "server-key.pem"]) expect(statSync(join(caFile, "..", f)).mode & 0o777).toBe(0o600);
    const ca = readFileSync(caFile, "utf8");
    const root = (await (await fetch(`${tlsUrl}/`, { tls: { ca } })).json()) as { links: Record<string, { href: string } | null> };
    expect(root.links.cloud_controller_v3?.href).toBe(`${tlsUrl}/v3`);
    expect(root.links.uaa?.href).toBe(`${tlsUrl}/uaa`);
    expect(root.links.log_cache?.href).toBe(tlsUrl);
    // The plain listener keeps its own links.
    const plain = (await (await fetch(`${s.url}/`)).json()) as { links: Record<string, { href: string } | null> };
    expect(plain.links.cloud_controller_v3?.href).toBe(`${s.url}/v3`);
  }, 30_000);

  test("cf api, target, orgs over https; trusting the CA works without --skip-ssl-validation", async () => {
    expect((await s.ok(["api"])).stdout).toContain(tlsUrl);
    expect((await s.ok(["orgs"])).stdout).toMatch(/^eirini$/m);
    expect((await s.ok(["curl", "/v3/info"])).stdout).toContain(`${tlsUrl}/v3/info`);
    // A fresh CF_HOME that does not trust the CA is refused; with the CA trusted (SSL_CERT_FILE), it is not.
    const home = join(s.cfHome, "strict");
    const untrusted = await s.cf(["api", tlsUrl.replace("127.0.0.1", "localhost")], { env: { CF_HOME: home } });
    expect(untrusted.code).toBe(1);
    expect(untrusted.out).toMatch(/certificate|SSL|x509/i);
    await s.ok(["api", tlsUrl.replace("127.0.0.1", "localhost")], { env: { CF_HOME: home, SSL_CERT_FILE: caFile } });
    await s.ok(["auth", "admin", s.password], { env: { CF_HOME: home, SSL_CERT_FILE: caFile } });
    expect((await s.ok(["orgs"], { env: { CF_HOME: home, SSL_CERT_FILE: caFile } })).stdout).toMatch(/^eirini$/m);
  }, 60_000);

  test("cf push over https; the app answers through the router on the TLS port", async () => {
    await s.ok(["push", "tls-hello", "-p", join(FIXTURES, "node-hello")]);
    const ca = readFileSync(caFile, "utf8");
    const port = new URL(tlsUrl).port;
    const body = await waitFor(
      async () => {
        const res = await fetch(`https://tls-hello.apps.localhost:${port}/`, { tls: { ca } });
        return res.status === 200 ? ((await res.json()) as { app: string }) : undefined;
      },
      { timeoutMs: 30_000, what: "tls-hello over https" },
    );
    expect(body.app).toBe("tls-hello");
    expect((await s.ok(["apps"])).stdout).toMatch(/^tls-hello\s+started\s.*tls-hello\.apps\.localhost/m);
  }, 90_000);
});
