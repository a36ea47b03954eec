import { cpSync, linkSync, lstatSync, mkdirSync, readdirSync, readlinkSync, symlinkSync } from "node:fs";
import { join } from "node:path";

/**
 * Seeds a staging's cache from the app's kept cache. Everything is copied
 * (a buildpack may rewrite its cache files in place, and the kept cache must
 * survive a failed staging untouched), except `<key>/runtimes/`: unpacked
 * runtimes named by their archive's sha256, which buildpacks only read and
 * hard-link into droplets. Those are hard-linked, so a re-staging costs no
 * copy of a 100 MB runtime.
 */
export function seedCache(from: string, to: string): void {
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
      if (entry === "runtimes") linkTree(join(src, entry), join(dst, entry));
      else cpSync(join(src, entry), join(dst, entry), { recursive: true, verbatimSymlinks: true });
    }
  }
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
