import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join, posix } from "node:path";
import { zipSync, type Zippable } from "fflate";
import { UnsafeArchiveError } from "./errors.ts";

/** One file to zip: its path in the zip, content and Unix mode (type bits included). */
export interface ZipItem {
  path: string;
  data: Uint8Array;
  mode: number;
}

/** A fixed timestamp keeps zips of the same files byte-identical (stable digests). */
const FIXED_MTIME = new Date("2000-01-01T00:00:00Z");

/** Zips items with Unix modes (exec bits, symlinks) that unzip and our unpacker honour. */
export function zipItems(items: ZipItem[], mtime: Date = FIXED_MTIME): Uint8Array {
  const tree: Zippable = {};
  for (const it of [...items].sort((a, b) => a.path.localeCompare(b.path))) {
    tree[it.path] = [it.data, { os: 3, attrs: (it.mode << 16) >>> 0, mtime, level: 6 }];
  }
  return zipSync(tree);
}

/**
 * Reads a directory into zip items: regular files and symlinks that stay
 * inside it; anything else (devices, links out) is refused.
 */
export function dirItems(dir: string): ZipItem[] {
  const items: ZipItem[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel))) {
      const child = rel ? `${rel}/${name}` : name;
      const abs = join(dir, child);
      const st = lstatSync(abs);
      if (st.isDirectory()) walk(child);
      else if (st.isFile()) items.push({ path: child, data: readFileSync(abs), mode: 0o100000 | (st.mode & 0o777) });
      else if (st.isSymbolicLink()) {
        const target = readlinkSync(abs);
        const resolved = posix.normalize(posix.join(posix.dirname(child), target));
        if (target.startsWith("/") || resolved === ".." || resolved.startsWith("../")) throw new UnsafeArchiveError(`symlink ${child} points outside the directory (${target})`);
        items.push({ path: child, data: new TextEncoder().encode(target), mode: 0o120777 });
      } else throw new UnsafeArchiveError(`${child} is a device, fifo or socket`);
    }
  };
  walk("");
  return items;
}
