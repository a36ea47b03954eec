import { posix } from "node:path";
import { unzipSync } from "fflate";

/**
 * Reads an uploaded app zip defensively: names, modes and symlink targets
 * from the central directory, and rejects anything that could write outside
 * the app directory when staged: absolute names, `..` segments, backslashes,
 * symlinks pointing out of the tree. Zip64 archives are refused (the CLI
 * only writes them past 65,535 files or 4 GiB).
 */
export class ZipRejected extends Error {
  override name = "ZipRejected";
}

export interface ZipEntry {
  /** Normalised relative path ("dir/file"); directories have no trailing slash. */
  path: string;
  /** Unix permission bits and type (0o100644, 0o040755, 0o120777). */
  mode: number;
  kind: "file" | "dir" | "symlink";
  data: Uint8Array;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;

interface CdEntry {
  name: string;
  mode: number;
}

function readCentralDirectory(buf: Uint8Array): CdEntry[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65_535); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipRejected("the uploaded bits are not a zip archive");
  const count = view.getUint16(eocd + 10, true);
  const size = view.getUint32(eocd + 12, true);
  const offset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff) throw new ZipRejected("zip64 archives are not supported");
  if (offset + size > buf.length) throw new ZipRejected("the zip archive is truncated");
  const out: CdEntry[] = [];
  let p = offset;
  const dec = new TextDecoder();
  for (let n = 0; n < count; n++) {
    if (p + 46 > buf.length || view.getUint32(p, true) !== 0x02014b50) throw new ZipRejected("the zip central directory is corrupt");
    const madeBy = view.getUint16(p + 4, true) >> 8;
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const external = view.getUint32(p + 38, true);
    const name = dec.decode(buf.subarray(p + 46, p + 46 + nameLen));
    // Unix zips (made-by 3) keep the st_mode in the high half; others only mark directories.
    let mode = madeBy === 3 ? external >>> 16 : 0;
    // A trailing slash makes a directory whatever the mode says, as every zip reader does: the cf CLI
    // (Go's archive/zip) writes directory entries as "sub/" with the regular-file mode bits or none.
    if (name.endsWith("/")) mode = S_IFDIR | (mode & 0o7777 || 0o755);
    else if ((mode & S_IFMT) === 0) mode = 0o100644;
    out.push({ name, mode });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** Checks one relative path; returns it normalised or throws ZipRejected. */
export function safeRelative(name: string): string {
  if (name.includes("\\")) throw new ZipRejected(`path '${name}' contains a backslash`);
  if (name.includes("\0")) throw new ZipRejected(`path contains a NUL byte`);
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) throw new ZipRejected(`path '${name}' is absolute`);
  const parts = name.split("/").filter((s) => s !== "" && s !== ".");
  if (parts.includes("..")) throw new ZipRejected(`path '${name}' escapes the app directory`);
  if (parts.length === 0) throw new ZipRejected(`path '${name}' is empty`);
  return parts.join("/");
}

/** All entries of a zip, validated. Throws ZipRejected with one line saying why. */
export function readAppZip(buf: Uint8Array): ZipEntry[] {
  const cd = readCentralDirectory(buf);
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(buf);
  } catch (err) {
    throw new ZipRejected(`the zip archive cannot be read (${(err as Error).message})`, { cause: err });
  }
  const seen = new Set<string>();
  const out: ZipEntry[] = [];
  for (const e of cd) {
    const path = safeRelative(e.name);
    if (seen.has(path)) throw new ZipRejected(`path '${path}' appears twice`);
    seen.add(path);
    const type = e.mode & S_IFMT;
    const data = files[e.name] ?? new Uint8Array();
    if (type === S_IFDIR) {
      out.push({ path, mode: e.mode, kind: "dir", data: new Uint8Array() });
    } else if (type === S_IFLNK) {
      const target = new TextDecoder().decode(data);
      if (target.startsWith("/")) throw new ZipRejected(`symlink '${path}' points to an absolute path`);
      const resolved = posix.normalize(posix.join(posix.dirname(path), target));
      if (resolved === ".." || resolved.startsWith("../")) throw new ZipRejected(`symlink '${path}' points outside the app directory`);
      out.push({ path, mode: e.mode, kind: "symlink", data });
    } else if (type === 0o100000) {
      out.push({ path, mode: e.mode, kind: "file", data });
    } else {
      throw new ZipRejected(`path '${path}' is not a regular file, directory or symlink`);
    }
  }
  return out;
}
