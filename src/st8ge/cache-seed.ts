import { cpSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, symlinkSync } from "node:fs";
import { join } from "node:path";

/**
 * Seeds a staging's cache from the app's kept cache. Everything is copied
 * (a buildpack may rewrite its cache files in place, and the kept cache must
 * survive a failed staging untouched), except `<key>/runtimes/`: unpacked
 * runtimes named by their archive's sha256, which buildpacks only read and
 * hard-link into droplets. Those are moved over (one rename, however many
 * files: a 100 MB runtime costs nothing), and `restore()` moves them back
 * when the staging fails; a successful staging's cache replaces the kept one
 * with them inside. Two stagings of one app at once: the second finds no
 * runtimes and fetches them again. Across filesystems they are hard-linked.
 */
export function seedCache(from: string, to: string): { restore(): void } {
  const moved: Array<[string, string]> = [];
  mkdirSync(to, { recursive: true });
  for (const key of readdirSync(from)) {
    const src = join(from, key);
    const dst = join(to, key);
    if (!lstatSync(src).isDirectory()) {
      cpSync(src, dst, { verbatimSymlinks: true });
      continue;
    }
    mkdirSync(dst, { recursive: true });
    for (const entry of readdirSync(src)) {
      if (entry !== "runtimes") {
        cpSync(join(src, entry), join(dst, entry), { recursive: true, verbatimSymlinks: true });
        continue;
      }
      try {
        renameSync(join(src, entry), join(dst, entry));
        moved.push([join(src, entry), join(dst, entry)]);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
        linkTree(join(src, entry), join(dst, entry));
      }
    }
  }
  return {
    restore() {
      for (const [orig, now] of moved) {
        try {
          if (!existsSync(orig) && existsSync(now) && existsSync(join(orig, ".."))) renameSync(now, orig);
        } catch {
          // Only a later staging's speed depends on it: it fetches the runtime again.
        }
      }
    },
  };
}

function linkTree(src: string, dst: string): void {
  const st = lstatSync(src);
  if (st.isDirectory()) {
    mkdirSync(dst, { mode: st.mode & 0o7777 });
    for (const e of readdirSync(src)) linkTree(join(src, e), join(dst, e));
  } else if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(src), dst);
  } else {
    linkSync(src, dst);
  }
}
