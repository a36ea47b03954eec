import { closeSync, openSync, readSync, statSync } from "node:fs";
import { UnsafeArchiveError } from "../errors.ts";
import { copyDirSafely } from "./copy-dir.ts";
import type { TreeLimits } from "./safe-tree.ts";
import { isGzip, untarFile } from "./untar.ts";
import { unzipFile, type UnzipOptions } from "./unzip.ts";

/** An app package or buildpack as handed to staging: a zip, a tar (optionally gzipped) or a directory. */
export type PackageSource = { zip: string } | { tar: string } | { dir: string };

/** Picks the kind of a path on disk: a directory, a zip (PK magic) or else a tar. */
export function detectSource(path: string): PackageSource {
  const st = statSync(path);
  if (st.isDirectory()) return { dir: path };
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(262);
    const n = readSync(fd, b, 0, 262, 0);
    if (n >= 4 && b.readUInt32LE(0) === 0x04034b50) return { zip: path };
    if (n >= 4 && b.readUInt32LE(0) === 0x06054b50) return { zip: path }; // an empty zip
    if (n >= 262 && b.toString("latin1", 257, 262) === "ustar") return { tar: path };
  } finally {
    closeSync(fd);
  }
  if (isGzip(path)) return { tar: path };
  throw new UnsafeArchiveError(`${path} is neither a directory, a zip nor a tar`);
}

export function sourcePath(src: PackageSource): string {
  return "zip" in src ? src.zip : "tar" in src ? src.tar : src.dir;
}

/** Unpacks any source into `dest` (which must not exist yet or be empty) with the safe-tree rules. */
export function unpackSource(src: PackageSource, dest: string, limits: TreeLimits, zipOpts: Omit<UnzipOptions, "limits"> = {}): Promise<{ entries: number; bytes: number }> {
  if ("zip" in src) return unzipFile(src.zip, dest, { ...zipOpts, limits });
  if ("tar" in src) return untarFile(src.tar, dest, limits);
  return copyDirSafely(src.dir, dest, limits);
}
