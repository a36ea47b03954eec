import { afterAll, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { unpackStackLayers } from "../../src/container/index.ts";
import { rawTar } from "../st8ge/support.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

afterAll(cleanupTempDirs);

const root = process.getuid?.() === 0;

(root ? test : test.skip)(`an imported stack's layers become one rootfs: in order, owners kept, OCI whiteouts applied${root ? "" : " (skipped: needs root to keep owners)"}`, async () => {
  const dir = tempDir("stack-layers-");
  const base = join(dir, "base.tar");
  const top = join(dir, "top.tar");
  await Bun.write(
    base,
    await rawTar([
      { name: "etc/", type: "directory" },
      { name: "etc/os-release", data: "base\n" },
      { name: "etc/gone", data: "x" },
      { name: "opt/", type: "directory" },
      { name: "opt/old1", data: "1" },
      { name: "opt/old2", data: "2" },
      { name: "home/vcap/", type: "directory" },
    ]),
  );
  await Bun.write(
    top,
    await rawTar([
      { name: "etc/os-release", data: "top\n" },
      { name: "etc/.wh.gone", data: "" },
      { name: "opt/.wh..wh..opq", data: "" },
      { name: "opt/new", data: "n" },
    ]),
  );
  Bun.spawnSync(["gzip", top]);
  const target = join(dir, "rootfs");
  expect(await unpackStackLayers([base, `${top}.gz`], target)).toBe(target);
  expect(readFileSync(join(target, "etc/os-release"), "utf8")).toBe("top\n");
  expect(existsSync(join(target, "etc/gone"))).toBe(false);
  expect(existsSync(join(target, "etc/.wh.gone"))).toBe(false);
  expect(existsSync(join(target, "opt/old1"))).toBe(false);
  expect(readFileSync(join(target, "opt/new"), "utf8")).toBe("n");
  expect(statSync(join(target, "etc/os-release")).uid).toBe(0);
  expect(existsSync(join(target, ".complete"))).toBe(true);
  // Unpacked once: a second call is a no-op on the finished rootfs.
  expect(await unpackStackLayers([base], target)).toBe(target);
  expect(readFileSync(join(target, "etc/os-release"), "utf8")).toBe("top\n");
});
