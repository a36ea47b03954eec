import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describeCf, FIXTURES, startCfSession, type CfSession } from "../support/cf-cli.ts";
import { haveNginx, NGINX_BIN, startNginx, type RunningNginx } from "../support/nginx.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs } from "../support/tmp.ts";

/**
 * The appliance behind a real nginx terminating TLS (proxy_pass to the plain
 * listener with X-Forwarded-Proto/Host/Port), nginx connecting from
 * 127.0.0.2, the only trusted proxy (config trustedProxies). The cf CLI goes
 * through nginx only; every link it follows must be nginx's https URL. The
 * same headers from any other peer change nothing.
 */
let s: CfSession;
let nginx: RunningNginx | undefined;
let tlsDir = "";

const describeProxy = (name: string, body: () => void) => {
  if (haveNginx) return describeCf(name, body);
  console.log(`SKIP nginx proxy tests: no nginx at ${NGINX_BIN} (apt-get install nginx-light)`);
  describe.skip(name, body);
};

describeProxy("real cf CLI through nginx terminating TLS (trusted forwarded headers)", () => {
  beforeAll(async () => {
    s = await startCfSession({
      // --tls-port makes the appliance's own certificate, which nginx presents here.
      args: ["--tls-port", "0"],
      env: { EIRINI_TRUSTED_PROXIES: '["127.0.0.2"]' },
      apiUrl: async (eirini, dataDir) => {
        tlsDir = join(dataDir, "secrets", "tls");
        nginx = await startNginx({ upstreamPort: Number(new URL(eirini.url).port), certFile: join(tlsDir, "server.pem"), keyFile: join(tlsDir, "server-key.pem"), forwarded: true, bindAddress: "127.0.0.2" });
        return nginx.url;
      },
    });
  }, 120_000);
  afterAll(async () => {
    await s?.stop();
    await nginx?.stop();
    cleanupTempDirs();
  });

  test("links through nginx are nginx's https URL; the same headers from an untrusted peer are ignored", async () => {
    const ca = readFileSync(join(tlsDir, "ca.pem"), "utf8");
    type Root = { links: Record<string, { href: string } | null> };
    const root = (await (await fetch(`${nginx!.url}/`, { tls: { ca } })).json()) as Root;
    expect(root.links.cloud_controller_v3?.href).toBe(`${nginx!.url}/v3`);
    expect(root.links.login?.href).toBe(`${nginx!.url}/uaa`);
    expect(root.links.log_cache?.href).toBe(nginx!.url);
    const v3 = (await (await fetch(`${nginx!.url}/v3`, { tls: { ca } })).json()) as Root;
    expect(v3.links.apps?.href).toBe(`${nginx!.url}/v3/apps`);
    const login = (await (await fetch(`${nginx!.url}/uaa/login`, { tls: { ca } })).json()) as Root;
    expect(JSON.stringify(login.links)).toContain(nginx!.url);
    // 127.0.0.1 is not a trusted proxy: its forwarded headers are ignored.
    const spoofed = (await (await fetch(`${s.url}/`, { headers: { "x-forwarded-host": "evil.example", "x-forwarded-proto": "https" } })).json()) as Root;
    expect(spoofed.links.cloud_controller_v3?.href).toBe(`${s.url}/v3`);
  }, 30_000);

  test("cf api, target, orgs, curl and push through nginx; the app answers through nginx", async () => {
    expect((await s.ok(["api"])).stdout).toContain(nginx!.url);
    expect((await s.ok(["target"])).stdout).toMatch(/org:\s+eirini/);
    expect((await s.ok(["curl", "/v3"])).stdout).toContain(`${nginx!.url}/v3/apps`);
    await s.ok(["push", "proxy-hello", "-p", join(FIXTURES, "node-hello")]);
    const ca = readFileSync(join(tlsDir, "ca.pem"), "utf8");
    const body = await waitFor(
      async () => {
        const res = await fetch(`https://proxy-hello.apps.localhost:${nginx!.port}/`, { tls: { ca } });
        return res.status === 200 ? ((await res.json()) as { app: string }) : undefined;
      },
      { timeoutMs: 30_000, what: "proxy-hello through nginx" },
    );
    expect(body.app).toBe("proxy-hello");
    // Package and droplet links follow the proxy too.
    const token = (await s.ok(["oauth-token"])).stdout.trim();
    const pkgs = (await (await fetch(`${nginx!.url}/v3/packages`, { tls: { ca }, headers: { authorization: token } })).json()) as { resources: { links: Record<string, { href: string }> }[] };
    expect(pkgs.resources[0]?.links.download?.href ?? pkgs.resources[0]?.links.self?.href).toStartWith(`${nginx!.url}/v3/packages/`);
    const logs = await s.cf(["logs", "proxy-hello", "--recent"]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain("listening on");
  }, 120_000);
});
