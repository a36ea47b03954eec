import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { zipSync, type Zippable } from "fflate";

const ALWAYS_IGNORED = new Set([".git", ".cfignore", ".eirini"]);

function cfIgnorePatterns(dir: string): RegExp[] {
  let text = "";
  try {
    text = readFileSync(join(dir, ".cfignore"), "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((glob) => {
      const anchored = glob.startsWith("/");
      const body = glob.replace(/^\//, "").replace(/\/$/, "");
      const re = body.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*\*/g, "\u0000").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]").replace(/\u0000/g, ".*");
      return new RegExp(`${anchored ? "^" : "(^|/)"}${re}(/|$)`);
    });
}

export interface ZipResult {
  bytes: Uint8Array;
  files: number;
}

/**
 * Zips an app directory the way `cf push` does: relative paths, Unix modes
 * kept (so scripts stay executable), `.cfignore` honoured, symlinks skipped
 * (the server refuses links that leave the tree anyway).
 */
export function zipDirectory(dir: string): ZipResult {
  const ignore = cfIgnorePatterns(dir);
  const entries: Zippable = {};
  let files = 0;
  const walk = (abs: string) => {
    for (const name of readdirSync(abs)) {
      const full = join(abs, name);
      const rel = relative(dir, full).split(sep).join("/");
      if (ALWAYS_IGNORED.has(name) || ignore.some((re) => re.test(rel))) continue;
      const st = lstatSync(full);
      if (st.isSymbolicLink()) continue;
      if (st.isDirectory()) {
        entries[rel + "/"] = [new Uint8Array(0), { os: 3, attrs: ((0o40000 | (st.mode & 0o777)) << 16) >>> 0 }];
        walk(full);
      } else if (st.isFile()) {
        entries[rel] = [readFileSync(full), { os: 3, attrs: ((0o100000 | (st.mode & 0o777)) << 16) >>> 0 }];
        files++;
      }
    }
  };
  walk(dir);
  return { bytes: zipSync(entries, { level: 6 }), files };
}
