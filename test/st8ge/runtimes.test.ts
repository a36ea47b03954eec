import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deriveKey, signJwt } from "../../src/auth/index.ts";
import { runCli } from "../../src/cli/index.ts";
import { addRuntimeArchive, pickVersion, RuntimeError, RuntimeProvider, RuntimeStore, RuntimeTokens, runtimeRoutes } from "../../src/st8ge/index.ts";
import { tempDir } from "./support.ts";

const root = tempDir("st8ge-runtimes-");
const sha = (b: string | Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");
let n = 0;
function file(text: string): string {
  const p = join(root, `f${++n}`);
  writeFileSync(p, text);
  return p;
}
/** An offline archive: manifest.yml + files, as a plain tar. */
function archive(manifest: string, files: Record<string, string>): string {
  const dir = join(root, `a${++n}`);
  Bun.spawnSync(["mkdir", "-p", dir]);
  writeFileSync(join(dir, "manifest.yml"), manifest);
  for (const [k, v] of Object.entries(files)) writeFileSync(join(dir, k), v);
  const out = `${dir}.tgz`;
  Bun.spawnSync(["tar", "-C", dir, "-czf", out, "."]);
  return out;
}

describe("version rules", () => {
  const vs = ["18.20.4", "20.11.1", "20.19.2", "22.3.0"];
  test("npm ranges, bare majors and minors, prefixes, default = newest", () => {
    expect(pickVersion(vs, "20.x")).toBe("20.19.2");
    expect(pickVersion(vs, "^20.1")).toBe("20.19.2");
    expect(pickVersion(vs, "~20.11")).toBe("20.11.1");
    expect(pickVersion(vs, ">=18 <20")).toBe("18.20.4");
    expect(pickVersion(vs, "20")).toBe("20.19.2");
    expect(pickVersion(vs, "")).toBe("22.3.0");
    expect(pickVersion(vs, "18.x || 22.x")).toBe("22.3.0");
    expect(pickVersion(vs, "16.x")).toBeNull();
    expect(pickVersion(["3.11.2", "3.12.1"], "python-3.11.x")).toBe("3.11.2");
    expect(pickVersion(["3.11.2", "3.12.1"], "3.11")).toBe("3.11.2");
    expect(pickVersion(["1.19.8", "1.22.1"], "go1.22")).toBe("1.22.1");
    expect(pickVersion(vs, "not a range !")).toBeNull();
  });
});

describe("RuntimeStore", () => {
  const store = new RuntimeStore(join(root, "store"));
  test("adds files content-addressed with name, version, stack, sha256; lists and resolves", async () => {
    const a = await store.addFile({ name: "node", version: "20.19.2", stack: "cflinuxfs4" }, file("node 20"));
    expect(a).toMatchObject({ name: "node", version: "20.19.2", stack: "cflinuxfs4", sha256: sha("node 20"), size: 7 });
    expect(existsSync(join(root, "store", "sha256", a.sha256.slice(0, 2), a.sha256))).toBe(true);
    await store.addFile({ name: "node", version: "18.20.4", stack: "cflinuxfs4" }, file("node 18"), sha("node 18"));
    expect(store.list().map((d) => d.version)).toEqual(["20.19.2", "18.20.4"]);
    expect(store.resolve("node", "18.x", "cflinuxfs4")?.version).toBe("18.20.4");
    expect(store.resolve("node", "18.x", "other-stack")).toBeNull();
  });
  test("a wrong checksum or a bad name records nothing", async () => {
    await expect(store.addFile({ name: "node", version: "21.0.0", stack: "cflinuxfs4" }, file("x"), "0".repeat(64))).rejects.toThrow(RuntimeError);
    await expect(store.addFile({ name: "No Way", version: "1", stack: "s" }, file("x"))).rejects.toThrow(/runtime name/);
    expect(store.get({ name: "node", version: "21.0.0", stack: "cflinuxfs4" })).toBeNull();
  });
  test("offline archives: CF manifest dependencies, one record per stack, all-or-nothing on a checksum mismatch", async () => {
    const ok = archive(`dependencies:\n- name: python\n  version: 3.11.2\n  cf_stacks: [cflinuxfs4, bare]\n  sha256: ${sha("py")}\n  file: py.tgz\n`, { "py.tgz": "py" });
    const added = await addRuntimeArchive(store, ok);
    expect(added.map((d) => `${d.name} ${d.version} ${d.stack}`)).toEqual(["python 3.11.2 cflinuxfs4", "python 3.11.2 bare"]);
    const bad = archive(
      `dependencies:\n- name: go\n  version: 1.22.1\n  cf_stacks: [bare]\n  sha256: ${sha("go")}\n  file: go.tgz\n- name: ruby\n  version: 3.3.0\n  cf_stacks: [bare]\n  sha256: ${sha("nope")}\n  file: rb.tgz\n`,
      { "go.tgz": "go", "rb.tgz": "ruby" },
    );
    await expect(addRuntimeArchive(store, bad)).rejects.toThrow(/rb.tgz \(ruby 3.3.0\) has sha256/);
    expect(store.list().some((d) => d.name === "go")).toBe(false);
    await expect(addRuntimeArchive(store, archive("dependencies: []\n", {}))).rejects.toThrow(/manifest.yml/);
    await expect(addRuntimeArchive(store, file("not a tar at all, not even close................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................."))).rejects.toThrow(RuntimeError);
  });
});

describe("runtime routes and downloads", () => {
  const store = new RuntimeStore(join(root, "routes-store"));
  const tokenKey = "t".repeat(64);
  const bits = "a runtime archive";
  const origin = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => (new URL(req.url).pathname === "/node-22.1.0.tgz" ? new Response(bits) : new Response("no", { status: 404 })) });
  const sources = [{ name: "node", version: "22.1.0", cf_stacks: ["bare"], uri: `http://127.0.0.1:${origin.port}/node-22.1.0.tgz`, sha256: sha(bits) }];
  afterAll(() => origin.stop(true));
  const tokens = new RuntimeTokens(tokenKey);
  const admin = signJwt({ user_id: "u", scope: ["cloud_controller.admin"], aud: ["cloud_controller"], exp: Math.floor(Date.now() / 1000) + 600 }, deriveKey(tokenKey, "uaa"));
  const reader = signJwt({ user_id: "u", scope: ["cloud_controller.read"], aud: ["cloud_controller"], exp: Math.floor(Date.now() / 1000) + 600 }, deriveKey(tokenKey, "uaa"));

  test("a staging token resolves and downloads; misses name the runtime; downloads only when allowed", async () => {
    const off = runtimeRoutes({ provider: new RuntimeProvider({ store, download: false, sources }), tokens, tokenKey });
    const bearer = { authorization: `Bearer ${tokens.issue("stg-1", 60)}` };
    expect((await off.request("/st8ge/runtimes/resolve?name=node&version=22.x&stack=bare")).status).toBe(401);
    const miss = await off.request("/st8ge/runtimes/resolve?name=node&version=22.x&stack=bare", { headers: bearer });
    expect(miss.status).toBe(404);
    expect(await miss.text()).toContain("runtime node 22.x for stack bare is not in this appliance's runtime store (it has no node for bare); downloads are off");
    const on = runtimeRoutes({ provider: new RuntimeProvider({ store, download: true, sources }), tokens, tokenKey });
    const hit = await on.request("/st8ge/runtimes/resolve?name=node&version=22.x&stack=bare", { headers: bearer });
    expect(await hit.text()).toBe(`node 22.1.0 ${sha(bits)}\n`);
    expect(store.get({ name: "node", version: "22.1.0", stack: "bare" })?.sha256).toBe(sha(bits));
    const got = await on.request(`/st8ge/runtimes/files/${sha(bits)}`, { headers: bearer });
    expect(await got.text()).toBe(bits);
    const other = await on.request("/st8ge/runtimes/resolve?name=node&version=99.x&stack=bare", { headers: bearer });
    expect(other.status).toBe(409);
    expect(await other.text()).toContain("runtime node 99.x for stack bare is not in this appliance's runtime store (it has 22.1.0)");
  });

  test("the admin API adds an offline archive and lists; others are refused", async () => {
    const app = runtimeRoutes({ provider: new RuntimeProvider({ store, download: false, sources: [] }), tokens, tokenKey });
    const body = await Bun.file(archive(`dependencies:\n- name: go\n  version: "1.22.1"\n  cf_stacks: [bare]\n  sha256: ${sha("go!")}\n  file: go.tgz\n`, { "go.tgz": "go!" })).bytes();
    expect((await app.request("/st8ge/runtimes", { method: "POST", body, headers: { authorization: `Bearer ${reader}` } })).status).toBe(403);
    const res = await app.request("/st8ge/runtimes", { method: "POST", body, headers: { authorization: `Bearer ${admin}` } });
    expect(res.status).toBe(201);
    const list = (await (await app.request("/st8ge/runtimes", { headers: { authorization: `Bearer ${admin}` } })).json()) as { resources: Array<{ name: string; version: string }> };
    expect(list.resources.map((d) => `${d.name} ${d.version}`)).toContain("go 1.22.1");
    const bad = await app.request("/st8ge/runtimes", { method: "POST", body: "junk", headers: { authorization: `Bearer ${admin}` } });
    expect(bad.status).toBe(422);
  });
});

test("eirini runtimes add | list | delete on a data dir", async () => {
  const dataDir = join(root, "cli-data");
  const run = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
    return { code, out, err };
  };
  const a = archive(`dependencies:\n- name: node\n  version: 20.19.2\n  cf_stacks: [bare]\n  sha256: ${sha("n")}\n  file: n.tgz\n`, { "n.tgz": "n" });
  expect((await run("runtimes", "add", a, "--data-dir", dataDir)).out).toEqual([`runtime node 20.19.2 (bare) added: sha256:${sha("n")}`]);
  expect((await run("runtimes", "add", file("one"), "--name", "ruby", "--version", "3.3.0", "--stack", "bare", "--data-dir", dataDir)).code).toBe(0);
  const list = await run("runtimes", "list", "--data-dir", dataDir);
  expect(list.out[0]).toMatch(/^name\s+version\s+stack\s+size\s+sha256$/);
  expect(list.out.slice(1).map((l) => l.split(/\s+/).slice(0, 3).join(" "))).toEqual(["node 20.19.2 bare", "ruby 3.3.0 bare"]);
  const bad = await run("runtimes", "add", file("x"), "--name", "go", "--version", "1", "--stack", "bare", "--sha256", "0".repeat(64), "--data-dir", dataDir);
  expect(bad.code).toBe(1);
  expect(bad.err.join("\n")).toMatch(/go 1/);
  expect((await run("runtimes", "delete", "ruby", "3.3.0", "bare", "--data-dir", dataDir)).code).toBe(0);
  expect((await run("runtimes", "list", "--data-dir", dataDir)).out.length).toBe(2);
});
