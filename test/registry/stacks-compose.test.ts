import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import tar from "tar-stream";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";
import { makeDroplet, makeTar, sha256, tarDirectory, writeOciLayout } from "./fixtures.ts";
import { harness, type Harness } from "./harness.ts";

afterAll(cleanupTempDirs);

let h: Harness;
let dir: string;
beforeEach(async () => {
  h = await harness();
  dir = tempDir("eirini-stack-");
});
afterEach(() => h.close());

const registry = () => h.part.registry;
const file = (name: string, bytes: Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};
const storedBlobs = () => [...registry().blobs.list()].sort();

async function putDroplet(startCommand?: string): Promise<string> {
  const { digest } = await h.store.blobs.putBytes(await makeDroplet(startCommand));
  return digest.slice(7);
}

async function entries(gz: Uint8Array): Promise<tar.Header[]> {
  const out: tar.Header[] = [];
  const extract = tar.extract();
  const done = (async () => {
    for await (const e of extract) {
      out.push(e.header);
      e.resume();
    }
  })();
  extract.end(Buffer.from(gunzipSync(gz)));
  await done;
  return out;
}

async function manifestOf(repo: string, ref: string) {
  const res = await h.req(`/v2/${repo}/manifests/${ref}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { config: { digest: string }; layers: { digest: string; mediaType: string }[] };
}

async function configOf(repo: string, digest: string) {
  return (await (await h.req(`/v2/${repo}/blobs/${digest}`)).json()) as {
    config: { User: string; Env: string[]; WorkingDir: string; Entrypoint: string[]; Cmd: string[] };
    rootfs: { diff_ids: string[] };
  };
}

describe("stack import", () => {
  test("a plain rootfs tarball is compressed once into one layer", async () => {
    const rootfs = await makeTar([{ name: "./", type: "directory" }, { name: "./etc/", type: "directory" }, { name: "./etc/os-release", body: "ID=test\n" }]);
    const r = await registry().importStack("tiny", file("rootfs.tar", rootfs));
    expect(r).toMatchObject({ name: "tiny", source: "rootfs", layers: 1 });
    const [s] = registry().listStacks();
    expect(s).toMatchObject({ name: "tiny", layers: 1, images: 0 });
    const layer = h.store.db.query("SELECT digest, diff_id, media_type FROM registry_stack_layers").get() as { digest: string; diff_id: string; media_type: string };
    expect(layer.diff_id).toBe(sha256(rootfs));
    expect(layer.media_type).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    expect(gunzipSync(await registry().blobs.bytes(layer.digest))).toEqual(Buffer.from(rootfs));
  });

  test("a gzipped rootfs is stored byte for byte", async () => {
    const gz = Bun.gzipSync(await makeTar([{ name: "bin/sh", body: "x" }]));
    await registry().importStack("gz", file("rootfs.tgz", gz));
    expect(storedBlobs()).toEqual([sha256(gz)]);
  });

  test("an OCI layout tarball keeps its layers and config", async () => {
    const layout = join(dir, "layout");
    const img = await writeOciLayout(layout, [[{ name: "a.txt", body: "a" }], [{ name: "b.txt", body: "b" }]], { env: ["PATH=/opt/bin:/usr/bin", "TZ=UTC"] });
    const r = await registry().importStack("oci", file("stack.tar", await tarDirectory(layout)));
    expect(r).toMatchObject({ source: "oci-layout", layers: 2 });
    expect(storedBlobs()).toEqual(img.layers.map((l) => l.digest).sort());
  });

  test("unsafe or broken archives are refused and leave nothing behind", async () => {
    const bad = [
      await makeTar([{ name: "/etc/passwd", body: "x" }]),
      await makeTar([{ name: "ok/../../escape", body: "x" }]),
      Bun.gzipSync(await makeTar([{ name: "a", type: "link", linkname: "../../etc/shadow" }])),
      new TextEncoder().encode("not a tar at all, just some text that is long enough ".repeat(20)),
    ];
    for (const [i, bytes] of bad.entries()) {
      await expect(registry().importStack(`bad${i}`, file(`bad${i}.tar`, bytes))).rejects.toThrow();
    }
    const layout = join(dir, "badlayout");
    await writeOciLayout(layout, [[{ name: "../evil", body: "x" }]]);
    await expect(registry().importStack("badoci", file("badoci.tar", await tarDirectory(layout)))).rejects.toThrow(/\.\./);
    expect(registry().listStacks()).toEqual([]);
    expect(storedBlobs()).toEqual([]);
    expect(readdirSync(registry().blobs.tmpDir)).toEqual([]);
    await expect(registry().importStack("bad name!", file("x.tar", bad[0]!))).rejects.toThrow(/invalid stack name/);
  });

  test("an OCI layout whose blob does not match its digest is refused", async () => {
    const layout = join(dir, "corrupt");
    const img = await writeOciLayout(layout, [[{ name: "a.txt", body: "a" }]]);
    writeFileSync(join(layout, "blobs", "sha256", img.layers[0]!.digest.slice(7)), Bun.gzipSync(await makeTar([{ name: "other", body: "z" }])));
    await expect(registry().importStack("corrupt", file("c.tar", await tarDirectory(layout)))).rejects.toThrow(/digest/);
    expect(storedBlobs()).toEqual([]);
  });
});

describe("droplet images", () => {
  async function importStack(name: string, body: string): Promise<string[]> {
    const layout = join(dir, `layout-${name}-${body}`);
    mkdirSync(layout, { recursive: true });
    const img = await writeOciLayout(layout, [[{ name: "etc/stack", body }]]);
    await registry().importStack(name, file(`${name}-${body}.tar`, await tarDirectory(layout)));
    return img.layers.map((l) => l.digest);
  }

  test("compose: stack layers, then the droplet under /home/vcap owned by 2000, with the runtime config", async () => {
    const stackLayers = await importStack("cflinuxfs4", "v1");
    const hash = await putDroplet("./run.sh --port $PORT");
    const img = await registry().composeDropletImage({ dropletHash: hash, stack: "cflinuxfs4", repo: "cloudfoundry/app-1" });
    expect(img.reference).toBe(`cloudfoundry/app-1:${hash}`);
    const m = await manifestOf("cloudfoundry/app-1", hash);
    expect(sha256(JSON.stringify(m))).toBe(img.digest);
    expect(m.layers.map((l) => l.digest).slice(0, -1)).toEqual(stackLayers);
    const cfg = await configOf("cloudfoundry/app-1", m.config.digest);
    expect(cfg.config.User).toBe("2000");
    expect(cfg.config.WorkingDir).toBe("/home/vcap/app");
    expect(cfg.config.Env).toEqual(expect.arrayContaining(["HOME=/home/vcap/app", "LANG=en_US.UTF-8", "PATH=/usr/local/bin:/usr/bin:/bin"]));
    expect(cfg.config.Cmd).toEqual(["./run.sh --port $PORT"]);
    expect(cfg.config.Entrypoint.join(" ")).toContain("/home/vcap/profile.d/*.sh /home/vcap/app/.profile.d/*.sh");
    const dropletLayer = await registry().blobs.bytes(m.layers.at(-1)!.digest);
    expect(cfg.rootfs.diff_ids.at(-1)).toBe(sha256(gunzipSync(dropletLayer)));
    const headers = await entries(dropletLayer);
    const names = headers.map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(["home/vcap/", "home/vcap/app/run.sh", "home/vcap/profile.d/bp.sh", "home/vcap/staging_info.yml", "home/vcap/deps/", "home/vcap/tmp/", "home/vcap/logs/"]));
    expect(names.every((n) => n === "home/" || n.startsWith("home/vcap/"))).toBe(true);
    expect(headers.filter((e) => e.name.startsWith("home/vcap")).every((e) => e.uid === 2000 && e.gid === 2000)).toBe(true);
    expect(headers.find((e) => e.name === "home/vcap/app/run.sh")!.mode! & 0o777).toBe(0o755);
  });

  test("the droplet layer is built once per droplet and the stack is never re-read", async () => {
    await importStack("s", "v1");
    const hash = await putDroplet();
    const a = await registry().composeDropletImage({ dropletHash: hash, stack: "s", repo: "a/app" });
    const layer = (await manifestOf("a/app", hash)).layers.at(-1)!.digest;
    const mtime = statSync(registry().blobs.path(layer)).mtimeMs;
    const b = await registry().composeDropletImage({ dropletHash: hash, stack: "s", repo: "b/app", startCommand: "other" });
    expect((await manifestOf("b/app", hash)).layers.at(-1)!.digest).toBe(layer);
    expect(statSync(registry().blobs.path(layer)).mtimeMs).toBe(mtime);
    expect(a.digest).not.toBe(b.digest);
    // Same inputs, same image.
    expect((await registry().composeDropletImage({ dropletHash: hash, stack: "s", repo: "a/app" })).digest).toBe(a.digest);
  });

  test("re-importing a stack re-bases every droplet image on it", async () => {
    await importStack("s", "v1");
    const hash = await putDroplet();
    const before = await registry().composeDropletImage({ dropletHash: hash, stack: "s", repo: "app/one" });
    const newLayers = await importStack("s", "v2");
    const after = await manifestOf("app/one", hash);
    expect(after.layers.slice(0, -1).map((l) => l.digest)).toEqual(newLayers);
    expect(sha256(JSON.stringify(after))).not.toBe(before.digest);
    // The old composition is gone, so GC may reclaim the old stack layers.
    expect((await h.req(`/v2/app/one/manifests/${before.digest}`)).status).toBe(404);
    expect(registry().listStacks()[0]).toMatchObject({ name: "s", images: 1 });
  });

  test("bad compose requests fail clearly", async () => {
    await importStack("s", "v1");
    const hash = await putDroplet();
    await expect(registry().composeDropletImage({ dropletHash: "nothex", stack: "s", repo: "a" })).rejects.toThrow(/64 hex/);
    await expect(registry().composeDropletImage({ dropletHash: "0".repeat(64), stack: "s", repo: "a" })).rejects.toThrow(/not in the blob store/);
    await expect(registry().composeDropletImage({ dropletHash: hash, stack: "nope", repo: "a" })).rejects.toThrow(/stack nope not found/);
    await expect(registry().composeDropletImage({ dropletHash: hash, stack: "s", repo: "Bad/../repo" })).rejects.toThrow(/invalid repository/);
    const { digest } = await h.store.blobs.putBytes(Bun.gzipSync(await makeTar([{ name: "../../etc/passwd", body: "x" }])));
    await expect(registry().composeDropletImage({ dropletHash: digest.slice(7), stack: "s", repo: "a" })).rejects.toThrow(/\.\./);
    expect(readdirSync(registry().blobs.tmpDir)).toEqual([]);
  });

  test("a stack in use cannot be deleted; an unused one can", async () => {
    await importStack("used", "v1");
    await importStack("spare", "v1");
    await registry().composeDropletImage({ dropletHash: await putDroplet(), stack: "used", repo: "a" });
    expect(() => registry().deleteStack("used")).toThrow(/used by 1 droplet image/);
    registry().deleteStack("spare");
    expect(registry().listStacks().map((s) => s.name)).toEqual(["used"]);
    expect(() => registry().deleteStack("spare")).toThrow(/not found/);
  });
});
