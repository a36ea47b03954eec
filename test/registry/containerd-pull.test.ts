import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ADMIN_PASSWORD, harness, type Harness } from "./harness.ts";
import { makeDroplet, makeTar } from "./fixtures.ts";
import { startContainerd, type Containerd } from "../support/containerd.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

/**
 * The registry as a kubelet meets it: Debian's containerd (`ctr images pull`,
 * which resolves with HEAD and trusts its Content-Length) pulls by tag and by
 * digest, as admin and as the pull-only account of the image pull secrets;
 * anonymous pulls are refused; a droplet image the registry composed pulls
 * and unpacks like any other.
 */
let h: Harness;
let server: ReturnType<typeof Bun.serve>;
let host: string;
let containerd: Containerd | undefined;
let skip = "";
let droplet = { reference: "", digest: "" };

beforeAll(async () => {
  const c = await startContainerd();
  if ("skip" in c) {
    skip = c.skip;
    console.log(`skip containerd pulls: ${c.skip}`);
    return;
  }
  containerd = c;
  h = await harness();
  const routes = h.part.routes!;
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => routes.fetch(req) });
  host = `127.0.0.1:${server.port}`;
  // A stack (a real rootfs tar, one gzip layer) and a droplet image composed on it.
  const dir = tempDir();
  const rootfs = join(dir, "rootfs.tar");
  writeFileSync(rootfs, await makeTar([{ name: "./", type: "directory" }, { name: "./etc/", type: "directory" }, { name: "./etc/os-release", body: "ID=stand-in\n" }]));
  await h.part.registry.importStack("tiny", rootfs);
  const { digest } = await h.store.blobs.putBytes(await makeDroplet("./run.sh"));
  const img = await h.part.registry.composeDropletImage({ dropletHash: digest.slice(7), stack: "tiny", repo: "cloudfoundry/app-1" });
  droplet = { reference: img.reference, digest: img.digest };
}, 60_000);

afterAll(async () => {
  await containerd?.stop();
  server?.stop(true);
  h?.close();
  cleanupTempDirs();
}, 20_000);

const pull = (ref: string, user?: string) => containerd!.ctr(["images", "pull", "--plain-http", ...(user ? ["--user", user] : []), ref]);
const admin = () => `admin:${ADMIN_PASSWORD}`;
const puller = () => {
  const c = h.part.registry.pullCredentials();
  return `${c.username}:${c.password}`;
};

describe("ctr images pull from the embedded registry", () => {
  test("by tag and by digest, as admin and as the pull-only account", async () => {
    if (skip) return;
    const [repo, tag] = droplet.reference.split(":");
    for (const user of [admin(), puller()]) {
      for (const ref of [`${host}/${repo}:${tag}`, `${host}/${repo}@${droplet.digest}`]) {
        const r = await pull(ref, user);
        expect({ ref, code: r.code, err: r.stderr.trim() }).toEqual({ ref, code: 0, err: "" });
        expect(r.stdout).toContain(droplet.digest);
        await containerd!.ctr(["images", "rm", "--sync", ref]);
      }
    }
  }, 60_000);

  test("anonymous pulls are refused", async () => {
    if (skip) return;
    const r = await pull(`${host}/${droplet.reference}`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/401|unauthorized|authorization/i);
  }, 30_000);

  test("the composed droplet image unpacks: the droplet sits under /home/vcap, owned by 2000", async () => {
    if (skip) return;
    const ref = `${host}/${droplet.reference}`;
    expect((await pull(ref, puller())).code).toBe(0);
    const mnt = tempDir();
    const mounted = await containerd!.ctr(["images", "mount", ref, mnt]);
    expect(mounted.stderr.trim()).toBe("");
    try {
      const st = Bun.spawnSync(["stat", "-c", "%u:%g %n", join(mnt, "home/vcap/app/run.sh"), join(mnt, "etc/os-release")]);
      const lines = new TextDecoder().decode(st.stdout).trim().split("\n");
      expect(lines[0]).toStartWith("2000:2000 ");
      expect(lines[1]).toContain("os-release");
    } finally {
      await containerd!.ctr(["images", "unmount", "--rm", mnt]);
    }
  }, 60_000);
});
