import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUILTIN_BUILDPACKS, BuildpackError, BuildpackStore, installBuiltinBuildpacks } from "../../src/st8ge/index.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { rawZip, shellBuildpack, tempDir, zipWithTool } from "./support.ts";

const root = tempDir("st8ge-bpstore-");
let store: Store;
let bps: BuildpackStore;
let n = 0;
const fresh = () => join(root, `f${++n}`);
const bp = () => shellBuildpack(fresh(), { detect: "echo x", compile: "true", release: "echo '--- {}'" });
const order = () => bps.list().map((b) => `${b.position}:${b.name}`);

beforeAll(() => {
  store = openStore(join(root, "data"));
  bps = new BuildpackStore(store.db, store.blobs);
});
afterAll(() => store.close());

function refused(fn: () => unknown, code: string): Promise<void> {
  return Promise.resolve()
    .then(fn)
    .then(
      () => {
        throw new Error(`expected ${code}`);
      },
      (err: unknown) => {
        expect(err).toBeInstanceOf(BuildpackError);
        expect((err as BuildpackError).code).toBe(code as never);
      },
    );
}

describe("BuildpackStore", () => {
  test("positions stay contiguous when adding, moving and deleting", async () => {
    await bps.add({ name: "a" }, bp());
    await bps.add({ name: "b" }, bp());
    await bps.add({ name: "c", position: 1 }, bp());
    expect(order()).toEqual(["1:c", "2:a", "3:b"]);
    await bps.add({ name: "d", position: 99 }, bp());
    expect(order()).toEqual(["1:c", "2:a", "3:b", "4:d"]);
    bps.update("d", { position: 2 });
    expect(order()).toEqual(["1:c", "2:d", "3:a", "4:b"]);
    bps.update("c", { position: 4 });
    expect(order()).toEqual(["1:d", "2:a", "3:b", "4:c"]);
    bps.delete("a");
    expect(order()).toEqual(["1:d", "2:b", "3:c"]);
    for (const name of ["b", "c", "d"]) bps.delete(name);
  });

  test("a directory is stored as a zip that keeps exec bits; a real zip is stored as is", async () => {
    const fromDir = await bps.add({ name: "fromdir" }, bp());
    const listing = Bun.spawnSync(["unzip", "-Z", store.blobs.path(fromDir.blob_digest!)]).stdout.toString();
    expect(listing).toMatch(/-rwxr-xr-x.*bin\/detect/);
    const zip = zipWithTool(bp(), fresh() + ".zip");
    const fromZip = await bps.add({ name: "fromzip", stack: "cflinuxfs4" }, zip, "my.zip");
    expect(fromZip.blob_digest).toBe(`sha256:${new Bun.CryptoHasher("sha256").update(await Bun.file(zip).bytes()).digest("hex")}`);
    expect(fromZip).toMatchObject({ filename: "my.zip", stack: "cflinuxfs4", enabled: true, locked: false });
    bps.delete("fromdir");
    bps.delete("fromzip");
    expect(store.blobs.has(fromZip.blob_digest!)).toBe(false);
  });

  test("bad names, duplicates, bad positions and bad bits are refused without leaving a row", async () => {
    await refused(() => bps.create({ name: "bad name!" }), "invalid_name");
    await refused(() => bps.create({ name: "../x" }), "invalid_name");
    await refused(() => bps.create({ name: "p", position: 0 }), "invalid_position");
    await bps.add({ name: "dup" }, bp());
    await refused(() => bps.create({ name: "dup" }), "name_taken");
    const notBp = fresh() + ".zip";
    writeFileSync(notBp, rawZip([{ name: "README", data: "no bin here" }]));
    await refused(() => bps.add({ name: "nobin" }, notBp), "invalid_bits");
    const evil = fresh() + ".zip";
    writeFileSync(evil, rawZip([{ name: "bin/compile", data: "#!/bin/sh\n", mode: 0o100755 }, { name: "../../x", data: "x" }]));
    await refused(() => bps.add({ name: "evil" }, evil), "invalid_bits");
    const garbage = fresh() + ".zip";
    writeFileSync(garbage, "not a zip");
    await refused(() => bps.add({ name: "garbage" }, garbage), "invalid_bits");
    expect(bps.list().map((b) => b.name)).toEqual(["dup"]);
    bps.delete("dup");
  });

  test("a locked buildpack keeps its bits; enable/disable and lock/unlock are stored", async () => {
    await bps.add({ name: "l", locked: true }, bp());
    expect(bps.get("l")!.locked).toBe(true);
    await refused(() => bps.upload("l", bp()), "locked");
    bps.update("l", { locked: false, enabled: false });
    expect(bps.get("l")).toMatchObject({ locked: false, enabled: false });
    await bps.upload("l", zipWithTool(bp(), fresh() + ".zip"));
    await refused(() => bps.update("missing", { enabled: true }), "not_found");
    bps.delete("l");
  });

  test("built-ins are installed once, in order, and an admin's deletion is respected on the next start", async () => {
    expect(await installBuiltinBuildpacks(bps, store.settings)).toEqual(BUILTIN_BUILDPACKS.map((b) => b.name));
    expect(bps.list().map((b) => b.name)).toEqual(["staticfile_buildpack", "ruby_buildpack", "nodejs_buildpack", "go_buildpack", "python_buildpack", "binary_buildpack"]);
    const digests = bps.list().map((b) => b.blob_digest);
    expect(await installBuiltinBuildpacks(bps, store.settings)).toEqual([]);
    expect(bps.list().map((b) => b.blob_digest)).toEqual(digests);
    bps.delete("go_buildpack");
    expect(await installBuiltinBuildpacks(bps, store.settings)).toEqual([]);
    expect(bps.get("go_buildpack")).toBeNull();
  });
});
