import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import { createGunzip } from "node:zlib";
import { extract } from "tar-stream";
import { UnsafeArchiveError } from "../errors.ts";
import { cleanEntryName, DEFAULT_TREE_LIMITS, SafeTree, writeAll, type TreeLimits } from "./safe-tree.ts";

/** True when the file starts with the gzip magic bytes. */
export function isGzip(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/**
 * Unpacks a tar (plain or gzipped) into `dest` with the same rules as zips:
 * cleaned names, no `..` or absolute paths, symlinks and hard links must stay
 * inside, no devices or fifos, content bytes counted as they arrive (a header
 * cannot lie about size past the limit). Throws UnsafeArchiveError.
 */
export async function untarFile(src: string, dest: string, limits: TreeLimits = DEFAULT_TREE_LIMITS): Promise<{ entries: number; bytes: number }> {
  const tree = new SafeTree(dest, limits);
  const input = createReadStream(src, { highWaterMark: 1 << 20 });
  const ex = extract();
  let entries = 0;
  const source = isGzip(src) ? input.pipe(createGunzip()) : input;
  source.on("error", (err: Error) => ex.destroy(err));
  source.pipe(ex);
  try {
    for await (const entry of ex) {
      const h = entry.header;
      entries++;
      const rel = cleanEntryName(h.name);
      const mode = h.mode ?? 0o644;
      switch (h.type) {
        case "directory":
          tree.dir(rel, mode);
          entry.resume();
          break;
        case "symlink":
          tree.symlink(rel, h.linkname ?? "");
          entry.resume();
          break;
        case "link":
          tree.hardlink(rel, h.linkname ?? "");
          entry.resume();
          break;
        case "file":
        case "contiguous-file": {
          if (rel === "") throw new UnsafeArchiveError(`tar entry ${JSON.stringify(h.name)} has no name`);
          const fd = tree.openFile(rel, mode);
          try {
            for await (const chunk of entry as AsyncIterable<Buffer>) {
              tree.addBytes(chunk.length);
              writeAll(fd, chunk);
            }
          } finally {
            closeSync(fd);
          }
          break;
        }
        default:
          throw new UnsafeArchiveError(`tar entry ${JSON.stringify(h.name)} has unsupported type ${h.type}`);
      }
    }
  } catch (err) {
    input.destroy();
    if (err instanceof UnsafeArchiveError) throw err;
    throw new UnsafeArchiveError(`tar is corrupt (${(err as Error).message})`, { cause: err });
  }
  tree.seal();
  return { entries, bytes: tree.totalBytes };
}
