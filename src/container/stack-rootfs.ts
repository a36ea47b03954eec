import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { run } from "./exec.ts";

/**
 * Turns an imported stack's layers (tar or tar.gz files, bottom first) into a
 * root filesystem directory, once: owners, modes and device nodes kept (GNU
 * tar as root), OCI whiteouts applied (`.wh.NAME` deletes NAME from the
 * layers below, `.wh..wh..opq` empties its directory). The result is shared
 * read-only by every container as their lowest overlay layer. Built in a
 * temp dir and renamed into place, so a crash never leaves half a rootfs.
 */
export async function unpackStackLayers(layers: string[], target: string): Promise<string> {
  if (existsSync(join(target, ".complete"))) return target;
  const tmp = `${target}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    for (const layer of layers) {
      const names = (await run(["tar", "-tf", layer])).stdout.split("\n").filter(Boolean);
      for (const name of names) {
        const clean = normalize(name.replace(/^\.?\//, ""));
        if (clean.startsWith("..")) throw new Error(`stack layer entry leaves the rootfs: ${name}`);
        const base = clean.split("/").pop() ?? "";
        if (base === ".wh..wh..opq") {
          const dir = join(tmp, dirname(clean));
          if (existsSync(dir)) for (const e of readdirSync(dir)) rmSync(join(dir, e), { recursive: true, force: true });
        } else if (base.startsWith(".wh.")) {
          rmSync(join(tmp, dirname(clean), base.slice(4)), { recursive: true, force: true });
        }
      }
      await run(["tar", "-x", "--numeric-owner", "--same-permissions", "--same-owner", "--exclude=.wh.*", "-f", layer, "-C", tmp]);
    }
    writeFileSync(join(tmp, ".complete"), new Date().toISOString());
    rmSync(target, { recursive: true, force: true });
    mkdirSync(dirname(target), { recursive: true });
    renameSync(tmp, target);
    return target;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
