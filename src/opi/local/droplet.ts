import { chmodSync, copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { mkdir, open, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { readInsideTree, unpackSource } from "../../st8ge/index.ts";
import { StartError } from "./executor.ts";

/**
 * Droplets on the local backend. Each droplet .tgz is unpacked ONCE under
 * `<root>/droplets/<hash>` and made read-only; instances share it.
 *
 * Layout choice (per instance home, the `/home/vcap` of a container):
 *   app/          fresh directories, files HARD-LINKED to the shared droplet
 *                 (read-only). The app can create, delete and rename files
 *                 freely (its directories are its own); editing a droplet file
 *                 in place is refused, as in a read-only image layer. A
 *                 copy-on-write-ish layer with no copies and no privileges.
 *   deps, profile.d, staging_info.yml   symlinks to the shared droplet (read-only)
 *   tmp/, logs/   fresh and writable per instance
 * Falls back to copying when hard links are not possible (other filesystem).
 */
export class DropletCache {
  private unpacking = new Map<string, Promise<string>>();

  constructor(
    private readonly root: string,
    private readonly blobPath: (hash: string) => string,
  ) {
    mkdirSync(join(root, "droplets"), { recursive: true });
  }

  /** Directory of the unpacked droplet; unpacks on first use (concurrent callers share the work). */
  unpacked(hash: string): Promise<string> {
    if (!/^[a-f0-9]{64}$/.test(hash)) return Promise.reject(new StartError(`invalid droplet hash ${JSON.stringify(hash)}`));
    const dir = join(this.root, "droplets", hash);
    if (existsSync(join(dir, ".complete"))) return Promise.resolve(dir);
    let p = this.unpacking.get(hash);
    if (!p) {
      p = this.unpack(hash, dir).finally(() => this.unpacking.delete(hash));
      this.unpacking.set(hash, p);
    }
    return p;
  }

  private async unpack(hash: string, dir: string): Promise<string> {
    const src = this.blobPath(hash);
    if (!existsSync(src)) throw new StartError(`droplet ${hash} is not in the blob store`);
    const tmp = `${dir}.tmp-${crypto.randomUUID()}`;
    mkdirSync(tmp, { recursive: true });
    try {
      await extractTgz(src, tmp);
      for (const d of ["app", "deps", "profile.d", "tmp", "logs"]) mkdirSync(join(tmp, d), { recursive: true });
      makeReadOnly(tmp);
      await (await open(join(tmp, ".complete"), "w")).close();
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      if (err instanceof StartError) throw err;
      throw new StartError(`droplet ${hash} cannot be unpacked: ${(err as Error).message}`, { cause: err });
    }
    return dir;
  }

  /** `start_command` from the droplet's staging_info.yml, or "" when absent. */
  startCommand(dropletDir: string): string {
    try {
      const info = parseYaml(readInsideTree(dropletDir, "staging_info.yml") ?? "") as { start_command?: unknown } | null;
      return typeof info?.start_command === "string" ? info.start_command : "";
    } catch {
      return "";
    }
  }
}

/** Builds one instance's home from an unpacked droplet (see the layout above). */
export async function layoutHome(home: string, dropletDir: string | undefined): Promise<void> {
  await mkdir(home, { recursive: true });
  for (const d of ["tmp", "logs"]) await mkdir(join(home, d), { recursive: true });
  if (!dropletDir) {
    await mkdir(join(home, "app"), { recursive: true });
    return;
  }
  linkTree(join(dropletDir, "app"), join(home, "app"));
  for (const name of ["deps", "profile.d", "staging_info.yml"]) {
    if (existsSync(join(dropletDir, name))) await symlink(join(dropletDir, name), join(home, name));
  }
}

function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const ent of readdirSync(from, { withFileTypes: true })) {
    const a = join(from, ent.name);
    const b = join(to, ent.name);
    if (ent.isDirectory()) linkTree(a, b);
    else if (ent.isSymbolicLink()) symlinkSync(readlinkSync(a), b);
    else {
      try {
        linkSync(a, b);
      } catch {
        copyFileSync(a, b);
      }
    }
  }
}

function makeReadOnly(dir: string): void {
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) makeReadOnly(p);
    else if (ent.isFile()) chmodSync(p, lstatSync(p).mode & 0o555);
  }
}

/** Droplets unpack through st8ge's safe tree: names cleaned, links resolved as the OS will and kept inside. */
async function extractTgz(file: string, root: string): Promise<void> {
  await unpackSource({ tar: file }, root, { maxBytes: 16 * 1024 ** 3, maxEntries: 1_000_000 });
}

/** Removes a run directory even when parts of it were made read-only. */
export async function removeTree(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
