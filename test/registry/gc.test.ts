import { afterAll, expect, test } from "bun:test";
import { readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigSchema } from "../../src/config/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import { Registry } from "../../src/registry/index.ts";
import { openStore } from "../../src/store/index.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";
import { runCli } from "../../src/cli/run.ts";
import { errorCode, harness, pushBlob, pushImage } from "./harness.ts";

afterAll(cleanupTempDirs);

const HOUR = 3600_000;

test("gc removes unreferenced blobs past the grace period and abandoned uploads, keeps everything else", async () => {
  const h = await harness({ gcGraceSec: 3600, uploadExpirySec: 7200 });
  try {
    const reg = h.part.registry;
    const img = await pushImage(h, "r", "v1");
    const old = await pushBlob(h, "r", "old and loose");
    const fresh = await pushBlob(h, "r", "fresh and loose");
    const upload = (await h.req("/v2/r/blobs/uploads/", { method: "POST" })).headers.get("location")!;
    const past = new Date(Date.now() - 3 * HOUR);
    for (const d of [old, img.layer, img.config]) utimesSync(reg.blobs.path(d), past, past);
    h.store.db.query("UPDATE registry_uploads SET updated_at = ?").run(Date.now() - 3 * HOUR);
    writeFileSync(join(reg.blobs.tmpDir, "blob-crashed"), "partial");
    utimesSync(join(reg.blobs.tmpDir, "blob-crashed"), past, past);

    const r = reg.gc();
    expect(r).toMatchObject({ blobsRemoved: 1, uploadsExpired: 1, tempFilesRemoved: 1 });
    expect(reg.blobs.has(old)).toBe(false);
    expect(reg.blobs.has(fresh)).toBe(true);
    expect(reg.blobs.has(img.layer)).toBe(true);
    expect(await errorCode(await h.req(upload))).toBe("BLOB_UPLOAD_UNKNOWN");
    expect(readdirSync(reg.blobs.tmpDir)).toEqual([]);

    // Once the manifest goes, its blobs go at the next sweep past the grace period.
    await h.req(`/v2/r/manifests/${img.digest}`, { method: "DELETE" });
    expect(reg.gc().blobsRemoved).toBe(2);
    expect(reg.blobs.has(img.layer)).toBe(false);
  } finally {
    h.close();
  }
});

test("a blob a pusher just checked survives gc (HEAD refreshes the grace period)", async () => {
  const h = await harness({ gcGraceSec: 3600 });
  try {
    const reg = h.part.registry;
    const d = await pushBlob(h, "r", "about to be referenced");
    const past = new Date(Date.now() - 3 * HOUR);
    utimesSync(reg.blobs.path(d), past, past);
    expect((await h.req(`/v2/r/blobs/${d}`, { method: "HEAD" })).status).toBe(200);
    expect(reg.gc().blobsRemoved).toBe(0);
    expect(reg.blobs.has(d)).toBe(true);
  } finally {
    h.close();
  }
});

test("registry gc never touches the appliance blob store (droplets, packages)", async () => {
  const dataDir = tempDir("eirini-gc-");
  const store = openStore(dataDir);
  try {
    const droplet = await store.blobs.putBytes("a droplet");
    const reg = new Registry({ store, config: ConfigSchema.parse({ dataDir, registry: { gcGraceSec: 0 } }).registry, tokenKey: "k", logger: silentLogger });
    reg.gc();
    expect(store.blobs.has(droplet.digest)).toBe(true);
  } finally {
    store.close();
  }
});

test("eirini registry gc and eirini stack list on a data dir", async () => {
  const dataDir = tempDir("eirini-cli-");
  const out: string[] = [];
  const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l), env: {} as Record<string, string | undefined> };
  expect(await runCli(["registry", "gc", "--data-dir", dataDir], io)).toBe(0);
  expect(out.at(-1)).toMatch(/^removed 0 blob\(s\)/);
  expect(await runCli(["stack", "list", "--data-dir", dataDir], io)).toBe(0);
  expect(out.at(-1)).toContain("no stacks");
  expect(await runCli(["stack", "import", "x", join(dataDir, "missing.tar"), "--data-dir", dataDir], io)).toBe(1);
  expect(out.at(-1)).toContain("does not exist");
  expect(await runCli(["stack", "frobnicate", "--data-dir", dataDir], io)).toBe(2);
  expect(await runCli(["image", "compose", "--stack", "x", "--data-dir", dataDir], io)).toBe(2);
});
