import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startAppliance, type Appliance } from "../../src/cli/appliance.ts";
import { ConfigSchema } from "../../src/config/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import type { RegistryPart } from "../../src/registry/index.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";
import { makeDroplet, writeOciLayout } from "./fixtures.ts";

// Real-client tests: skopeo (Debian package) against the appliance on 127.0.0.1.
const SKOPEO = Bun.which("skopeo");
if (!SKOPEO) {
  if (process.env.CI) throw new Error("skopeo is required in CI (installed by .ci/run)");
  console.warn("skipping registry skopeo tests: skopeo is not installed (apt-get install skopeo)");
}
const t = SKOPEO ? test : test.skip;

const PASSWORD = "skopeo-test-password";
let app: Appliance;
let host: string;
let dir: string;

beforeAll(async () => {
  if (!SKOPEO) return;
  dir = tempDir("eirini-skopeo-");
  const config = ConfigSchema.parse({ dataDir: join(dir, "data"), port: 0, host: "127.0.0.1" });
  app = await startAppliance({ config, logger: silentLogger, env: { EIRINI_ADMIN_PASSWORD: PASSWORD } });
  host = new URL(app.url).host;
});

afterAll(async () => {
  await app?.stop();
  cleanupTempDirs();
});

async function skopeo(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const proc = Bun.spawn([SKOPEO!, "--insecure-policy", ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, REGISTRY_AUTH_FILE: join(dir, "auth.json") } });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, out, err };
}

const registry = () => (app.parts.find((p) => p.name === "registry") as RegistryPart).registry;

function blobsOf(layout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(join(layout, "blobs", "sha256"))) out[f] = readFileSync(join(layout, "blobs", "sha256", f)).toString("base64");
  return out;
}

t("skopeo copies an OCI layout into the registry and back out byte-identical", async () => {
  const src = join(dir, "src");
  await writeOciLayout(src, [[{ name: "hello.txt", body: "hello" }], [{ name: "etc/", type: "directory" }, { name: "etc/os-release", body: "ID=test\n" }]], { tag: "v1" });
  const push = await skopeo("copy", "--dest-tls-verify=false", "--dest-creds", `admin:${PASSWORD}`, `oci:${src}:v1`, `docker://${host}/test/image:v1`);
  expect(push.err).toBe("");
  expect(push.code).toBe(0);
  const back = join(dir, "back");
  const pull = await skopeo("copy", "--src-tls-verify=false", "--src-creds", `admin:${PASSWORD}`, `docker://${host}/test/image:v1`, `oci:${back}:v1`);
  expect(pull.code).toBe(0);
  expect(blobsOf(back)).toEqual(blobsOf(src));
  const tags = await skopeo("list-tags", "--tls-verify=false", "--creds", `admin:${PASSWORD}`, `docker://${host}/test/image`);
  expect(JSON.parse(tags.out).Tags).toEqual(["v1"]);
});

t("credentials are required; pull-only credentials pull but cannot push", async () => {
  const src = join(dir, "auth-src");
  await writeOciLayout(src, [[{ name: "x", body: "x" }]], { tag: "v1" });
  const anon = await skopeo("copy", "--dest-tls-verify=false", "--dest-no-creds", `oci:${src}:v1`, `docker://${host}/test/anon:v1`);
  expect(anon.code).not.toBe(0);
  expect(anon.err).toMatch(/unauthorized|authentication required/i);
  const { username, password } = registry().pullCredentials();
  const denied = await skopeo("copy", "--dest-tls-verify=false", "--dest-creds", `${username}:${password}`, `oci:${src}:v1`, `docker://${host}/test/pullonly:v1`);
  expect(denied.code).not.toBe(0);
  expect(denied.err).toMatch(/unauthorized|denied/i);
  expect(registry().meta.repositoryExists("test/pullonly")).toBe(false);
  await skopeo("copy", "--dest-tls-verify=false", "--dest-creds", `admin:${PASSWORD}`, `oci:${src}:v1`, `docker://${host}/test/pullonly:v1`);
  const pulled = await skopeo("inspect", "--tls-verify=false", "--creds", `${username}:${password}`, `docker://${host}/test/pullonly:v1`);
  expect(pulled.code).toBe(0);
  const wrong = await skopeo("inspect", "--tls-verify=false", "--creds", `admin:wrong`, `docker://${host}/test/pullonly:v1`);
  expect(wrong.code).not.toBe(0);
});

t("skopeo inspects a composed droplet image: layers, user, env, working dir", async () => {
  const stackDir = join(dir, "stack-layout");
  const stack = await writeOciLayout(stackDir, [[{ name: "etc/os-release", body: "ID=cflinuxfs4\n" }]]);
  const archive = join(dir, "stack.tar");
  // The stack arrives the way operators make it: skopeo copy ... oci-archive:
  const made = await skopeo("copy", `oci:${stackDir}:latest`, `oci-archive:${archive}`);
  expect(made.code).toBe(0);
  expect(existsSync(archive)).toBe(true);
  await registry().importStack("cflinuxfs4", archive);
  const { digest } = await app.store.blobs.putBytes(await makeDroplet("bundle exec rackup -p $PORT"));
  const image = await registry().composeDropletImage({ dropletHash: digest.slice(7), stack: "cflinuxfs4", repo: "cloudfoundry/my-app" });
  const inspect = await skopeo("inspect", "--tls-verify=false", "--creds", `admin:${PASSWORD}`, `docker://${host}/${image.reference}`);
  expect(inspect.code).toBe(0);
  const info = JSON.parse(inspect.out) as { Digest: string; Layers: string[]; Env: string[] };
  expect(info.Digest).toBe(image.digest);
  expect(info.Layers.length).toBe(2);
  expect(info.Layers[0]).toBe(stack.layers[0]!.digest);
  expect(info.Env).toEqual(expect.arrayContaining(["HOME=/home/vcap/app", "LANG=en_US.UTF-8"]));
  const cfg = JSON.parse((await skopeo("inspect", "--config", "--tls-verify=false", "--creds", `admin:${PASSWORD}`, `docker://${host}/${image.reference}`)).out) as {
    config: { User: string; WorkingDir: string; Cmd: string[] };
  };
  expect(cfg.config.User).toBe("2000");
  expect(cfg.config.WorkingDir).toBe("/home/vcap/app");
  expect(cfg.config.Cmd).toEqual(["bundle exec rackup -p $PORT"]);
  // And a full pull verifies every digest and diff ID on the way.
  const out = join(dir, "droplet-image");
  const pull = await skopeo("copy", "--src-tls-verify=false", "--src-creds", `admin:${PASSWORD}`, `docker://${host}/${image.reference}`, `oci:${out}:x`);
  expect(pull.code).toBe(0);
});
