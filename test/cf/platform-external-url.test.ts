import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describeCf, startCfSession, type CfSession } from "../support/cf-cli.ts";
import { freePort, haveNginx, NGINX_BIN, startNginx, type RunningNginx } from "../support/nginx.ts";
import { cleanupTempDirs } from "../support/tmp.ts";

/**
 * config `externalUrl`: the admin names the URL users reach (here a real
 * nginx terminating TLS that sends no forwarded headers at all). Every link
 * starts with it, whichever listener a request came in on.
 */
let s: CfSession;
let nginx: RunningNginx | undefined;
const nginxPort = freePort();
const external = `https://127.0.0.1:${nginxPort}`;
let tlsDir = "";

const describeProxy = (name: string, body: () => void) => {
  if (haveNginx) return describeCf(name, body);
  console.log(`SKIP external URL tests: no nginx at ${NGINX_BIN} (apt-get install nginx-light)`);
  describe.skip(name, body);
};

describeProxy("real cf CLI with externalUrl behind nginx (no forwarded headers)", () => {
  beforeAll(async () => {
    s = await startCfSession({
      args: ["--tls-port", "0", "--external-url", external],
      apiUrl: async (eirini, dataDir) => {
        tlsDir = join(dataDir, "secrets", "tls");
        nginx = await startNginx({ port: nginxPort, upstreamPort: Number(new URL(eirini.url).port), certFile: join(tlsDir, "server.pem"), keyFile: join(tlsDir, "server-key.pem"), forwarded: false });
        return nginx.url;
      },
    });
  }, 120_000);
  afterAll(async () => {
    await s?.stop();
    await nginx?.stop();
    cleanupTempDirs();
  });

  test("links start with the external URL on every listener; the CLI works through it", async () => {
    type Root = { links: Record<string, { href: string } | null> };
    const direct = (await (await fetch(`${s.url}/`)).json()) as Root;
    expect(direct.links.cloud_controller_v3?.href).toBe(`${external}/v3`);
    expect(direct.links.uaa?.href).toBe(`${external}/uaa`);
    expect(direct.links.log_cache?.href).toBe(external);
    const ca = readFileSync(join(tlsDir, "ca.pem"), "utf8");
    const v3 = (await (await fetch(`${nginx!.url}/v3`, { tls: { ca } })).json()) as Root;
    expect(v3.links.stacks?.href).toBe(`${external}/v3/stacks`);
    expect(s.eirini.stdout()).toContain(`links point at the external URL ${external}`);
    expect((await s.ok(["orgs"])).stdout).toMatch(/^eirini$/m);
    expect((await s.ok(["curl", "/v3/organizations"])).stdout).toContain(`${external}/v3/organizations/`);
    await s.ok(["create-app", "ext-app"]);
    expect((await s.ok(["apps"])).stdout).toMatch(/^ext-app\s+stopped/m);
  }, 60_000);
});
