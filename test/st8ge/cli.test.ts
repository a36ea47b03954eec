import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../../src/cli/index.ts";
import { shellBuildpack, tempDir, writeTree } from "./support.ts";

const root = tempDir("st8ge-cli-");
const dataDir = join(root, "data");

async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { code, out, err };
}

test("eirini stage streams the log and writes the droplet; the data dir keeps no droplet", async () => {
  const app = writeTree(join(root, "app"), { "package.json": JSON.stringify({ name: "x", main: "main.js" }), "main.js": "" });
  const out = join(root, "droplet.tgz");
  const r = await cli("stage", app, "-o", out, "--data-dir", dataDir, "--env", "A=B");
  expect(r.err).toEqual([]);
  expect(r.code).toBe(0);
  expect(r.out).toContain("-----> Detecting among buildpacks: staticfile_buildpack, ruby_buildpack, nodejs_buildpack, go_buildpack, python_buildpack, binary_buildpack");
  expect(r.out.some((l) => l.startsWith("-----> Node.js"))).toBe(true);
  const hash = new Bun.CryptoHasher("sha256").update(readFileSync(out)).digest("hex");
  expect(r.out).toContain(`sha256:             ${hash}`);
  expect(r.out).toContain("start command:      node main.js");
  expect(existsSync(join(dataDir, "blobs", "sha256", hash.slice(0, 2), hash))).toBe(false);
});

test("eirini stage fails with CF's reason and writes nothing", async () => {
  const app = writeTree(join(root, "plain"), { "a.txt": "" });
  const out = join(root, "none.tgz");
  const r = await cli("stage", app, "-o", out, "--data-dir", dataDir);
  expect(r.code).toBe(1);
  expect(r.err).toContain("eirini stage: None of the buildpacks detected a compatible application");
  expect(existsSync(out)).toBe(false);
  expect((await cli("stage", app, "--data-dir", dataDir)).code).toBe(2);
  expect((await cli("stage", app, "-o", out, "--env", "NOEQUALS", "--data-dir", dataDir)).code).toBe(2);
});

test("eirini buildpacks add, list, lock, disable, delete; bad input is one clear line", async () => {
  const bp = shellBuildpack(join(root, "mybp"), { detect: "echo mine", compile: "true", release: "echo '--- {}'" });
  const add = await cli("buildpacks", "add", "mine", bp, "--position", "1", "--data-dir", dataDir);
  expect(add.code).toBe(0);
  expect(add.out[0]).toMatch(/^buildpack mine added at position 1 \(sha256:[a-f0-9]{64}\)$/);
  expect((await cli("buildpacks", "lock", "mine", "--data-dir", dataDir)).out).toEqual(["buildpack mine locked"]);
  expect((await cli("buildpacks", "disable", "mine", "--data-dir", dataDir)).out).toEqual(["buildpack mine disabled"]);
  const list = await cli("buildpacks", "list", "--data-dir", dataDir);
  expect(list.out[0]).toMatch(/^position\s+name\s+stack\s+enabled\s+locked\s+filename$/);
  expect(list.out[1]).toMatch(/^1\s+mine\s+false\s+true\s+mybp$/);
  expect(list.out.slice(2).map((l) => l.split(/\s+/)[1])).toEqual(["staticfile_buildpack", "ruby_buildpack", "nodejs_buildpack", "go_buildpack", "python_buildpack", "binary_buildpack"]);
  const dup = await cli("buildpacks", "add", "mine", bp, "--data-dir", dataDir);
  expect(dup).toMatchObject({ code: 1, err: ['eirini buildpacks: buildpack "mine" already exists'] });
  expect((await cli("buildpacks", "add", "bad/name", bp, "--data-dir", dataDir)).code).toBe(1);
  expect((await cli("buildpacks", "add", "x", join(root, "missing"), "--data-dir", dataDir)).code).toBe(1);
  expect((await cli("buildpacks", "frobnicate", "--data-dir", dataDir)).code).toBe(2);
  expect((await cli("buildpacks", "delete", "mine", "--data-dir", dataDir)).out).toEqual(["buildpack mine deleted"]);
  expect((await cli("buildpacks", "delete", "mine", "--data-dir", dataDir)).err).toEqual(['eirini buildpacks: buildpack "mine" not found']);
});
