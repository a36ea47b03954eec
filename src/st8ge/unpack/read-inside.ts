import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from "node:fs";
import { UnsafeArchiveError } from "../errors.ts";

/**
 * Reads a small regular file of an unpacked tree without following any link:
 * every component below `root` is lstat'ed and must be a real directory, and
 * the file itself is opened O_NOFOLLOW. A tree made from someone else's
 * archive (a staging result, a droplet) can thus never make the appliance read
 * a file of its own (e.g. secrets/token-signing.key) and send it back.
 * Returns null when the file does not exist; throws UnsafeArchiveError when a
 * link, a non-file or more than `maxBytes` is met.
 */
export function readInsideTree(root: string, rel: string, maxBytes = 1024 * 1024): string | null {
  const parts = rel.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.length === 0 || parts.includes("..")) throw new UnsafeArchiveError(`${JSON.stringify(rel)} is not a path inside the tree`);
  let cur = root;
  for (const dir of parts.slice(0, -1)) {
    cur = `${cur}/${dir}`;
    let st;
    try {
      st = lstatSync(cur);
    } catch {
      return null;
    }
    if (st.isSymbolicLink()) throw new UnsafeArchiveError(`${JSON.stringify(rel)} passes through a symlink`);
    if (!st.isDirectory()) return null;
  }
  let fd: number;
  try {
    fd = openSync(`${cur}/${parts.at(-1)}`, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    if (code === "ELOOP") throw new UnsafeArchiveError(`${JSON.stringify(rel)} is a symlink`);
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UnsafeArchiveError(`${JSON.stringify(rel)} is not a regular file`);
    if (st.size > maxBytes) throw new UnsafeArchiveError(`${JSON.stringify(rel)} is larger than ${maxBytes} bytes`);
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.toString("utf8", 0, got);
  } finally {
    closeSync(fd);
  }
}
