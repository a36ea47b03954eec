import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import { createInflateRaw, inflateRawSync } from "node:zlib";
import { dataOffsets, readZipDirectory, resolveLink, UnsafeArchiveError, type ZipDirectoryEntry } from "../st8ge/index.ts";

/**
 * Checks an uploaded app zip on disk, streaming, before anything is kept:
 * names (no absolute paths, `..`, backslashes, NUL), entry kinds, symlinks
 * resolved through each other as the OS will (a chain like `s -> .`,
 * `l1 -> s/..` climbs out), no entry below a link or a file, and every
 * entry's content inflated once, in bounded pieces, to verify its declared
 * size and CRC-32 under the bomb limits (total, per entry, entry count,
 * compression ratio). Nothing is held in memory but one piece at a time.
 */
export class ZipRejected extends Error {
  override name = "ZipRejected";
}

export interface ZipLimits {
  /** Total uncompressed bytes. */
  maxBytes: number;
  maxEntries: number;
  /** Uncompressed bytes of one entry. */
  maxEntryBytes: number;
  /** Most an entry over 1 MiB may inflate per compressed byte (deflate tops out near 1032). */
  maxRatio: number;
}

/** One checked entry: where its bytes are in the upload, and what they are. */
export interface CheckedEntry {
  /** Normalised relative path ("dir/file"); directories have no trailing slash. */
  path: string;
  /** Unix permission bits and type (0o100644, 0o040755, 0o120777). */
  mode: number;
  kind: "file" | "dir" | "symlink";
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** Offset of the compressed bytes in the uploaded file. */
  dataStart: number;
  /** sha1 hex of the content (files only): the resource cache's key. */
  sha1: string;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
/** Entries this small are inflated in one call; bigger ones stream through zlib off the event loop. */
const SMALL = 256 * 1024;

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

/** The entry's Unix mode; an entry whose name ends in "/" is a directory whatever its mode bits say. */
function modeOf(e: ZipDirectoryEntry): number {
  let mode = e.unixMode ?? 0;
  // The cf CLI (Go's archive/zip) writes directory entries as "sub/" with the regular-file mode bits or none.
  if (e.name.endsWith("/")) return S_IFDIR | (mode & 0o7777 || 0o755);
  if ((mode & S_IFMT) === 0) mode = S_IFREG | (mode & 0o7777 || 0o644);
  return mode;
}

const rejected = (err: unknown): ZipRejected => (err instanceof ZipRejected ? err : new ZipRejected((err as Error).message, { cause: err }));

/** Inflates one entry piece by piece, verifying size and CRC; `onChunk` sees each piece. */
async function verifyEntry(file: string, fd: number, e: ZipDirectoryEntry, start: number, path: string, onChunk: (c: Uint8Array) => void): Promise<void> {
  let size = 0;
  let crc = 0;
  const take = (c: Uint8Array) => {
    size += c.byteLength;
    if (size > e.size) throw new ZipRejected(`entry '${path}' holds more than the ${e.size} bytes it declares`);
    crc = Bun.hash.crc32(c, crc);
    onChunk(c);
  };
  if (e.compressedSize <= SMALL && e.size <= 4 * SMALL) {
    const raw = Buffer.allocUnsafe(e.compressedSize);
    for (let got = 0; got < raw.length; ) {
      const n = readSync(fd, raw, got, raw.length - got, start + got);
      if (n === 0) throw new ZipRejected("the zip archive is truncated");
      got += n;
    }
    if (e.method === 0) take(raw);
    else {
      let out: Buffer;
      try {
        out = inflateRawSync(raw, { maxOutputLength: e.size + 1 });
      } catch (err) {
        throw new ZipRejected(`entry '${path}' is corrupt or larger than it declares (${(err as Error).message})`, { cause: err });
      }
      take(out);
    }
  } else if (e.compressedSize > 0) {
    const input = createReadStream(file, { start, end: start + e.compressedSize - 1, highWaterMark: 1 << 20 });
    const stream = e.method === 0 ? input : input.pipe(createInflateRaw({ chunkSize: 1 << 20 }));
    input.on("error", (err) => stream.destroy(err));
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) take(chunk);
    } catch (err) {
      input.destroy();
      if (err instanceof ZipRejected) throw err;
      throw new ZipRejected(`entry '${path}' is corrupt (${(err as Error).message})`, { cause: err });
    }
  }
  if (size !== e.size) throw new ZipRejected(`entry '${path}' declares ${e.size} bytes but holds ${size}`);
  if (crc >>> 0 !== e.crc32) throw new ZipRejected(`entry '${path}' fails its CRC check`);
}

/** All entries of an uploaded zip file, checked. Throws ZipRejected with one line saying why. */
export async function checkAppZip(file: string, limits: ZipLimits): Promise<CheckedEntry[]> {
  const fd = openSync(file, "r");
  try {
    let dir: { entries: ZipDirectoryEntry[]; cdOffset: number };
    let offsets: Map<ZipDirectoryEntry, number>;
    try {
      dir = readZipDirectory(fd, { maxBytes: limits.maxBytes, maxEntries: limits.maxEntries });
      offsets = dataOffsets(fd, dir.entries, dir.cdOffset);
    } catch (err) {
      if (err instanceof UnsafeArchiveError) throw new ZipRejected(err.message.replace(/^not a zip file.*/, "the uploaded bits are not a zip archive"), { cause: err });
      throw err;
    }
    // The ratio rule in aggregate too: a thousand 1 MiB entries of zeros each pass alone.
    const declared = dir.entries.reduce((n, e) => n + e.size, 0);
    const packed = dir.entries.reduce((n, e) => n + e.compressedSize, 0);
    if (declared > 64 * 1024 * 1024 && declared > limits.maxRatio * Math.max(1, packed)) {
      throw new ZipRejected(`the archive inflates more than ${limits.maxRatio} times (a zip bomb?)`);
    }
    const kinds = new Map<string, CheckedEntry["kind"]>();
    const links = new Map<string, string>();
    const out: CheckedEntry[] = [];
    for (const e of dir.entries) {
      const path = safeRelative(e.name);
      if (kinds.has(path)) throw new ZipRejected(`path '${path}' appears twice`);
      const mode = modeOf(e);
      const type = mode & S_IFMT;
      const kind = type === S_IFDIR ? "dir" : type === S_IFLNK ? "symlink" : type === S_IFREG ? "file" : null;
      if (!kind) throw new ZipRejected(`path '${path}' is not a regular file, directory or symlink`);
      if (e.size > limits.maxEntryBytes) throw new ZipRejected(`entry '${path}' is larger than ${limits.maxEntryBytes} bytes`);
      if (e.size > 1024 * 1024 && e.size > limits.maxRatio * Math.max(1, e.compressedSize)) {
        throw new ZipRejected(`entry '${path}' inflates more than ${limits.maxRatio} times (a zip bomb?)`);
      }
      if (kind === "symlink" && e.size > 4096) throw new ZipRejected(`symlink '${path}' has an oversized target`);
      kinds.set(path, kind);
      out.push({ path, mode, kind, method: e.method, crc32: e.crc32, compressedSize: e.compressedSize, size: e.size, dataStart: offsets.get(e)!, sha1: "" });
    }

    let lastYield = performance.now();
    for (let i = 0; i < out.length; i++) {
      const c = out[i]!;
      const e = dir.entries[i]!;
      if (c.kind === "dir") {
        if (e.size !== 0) throw new ZipRejected(`directory '${c.path}' has content`);
        continue;
      }
      const pieces: Uint8Array[] = [];
      const hasher = c.kind === "file" ? new Bun.CryptoHasher("sha1") : null;
      try {
        await verifyEntry(file, fd, e, c.dataStart, c.path, (chunk) => (hasher ? hasher.update(chunk) : pieces.push(chunk)));
      } catch (err) {
        throw rejected(err);
      }
      if (hasher) c.sha1 = hasher.digest("hex");
      else {
        const target = Buffer.concat(pieces).toString("utf8");
        if (target === "" || target.includes("\0")) throw new ZipRejected(`symlink '${c.path}' has an invalid target`);
        if (target.startsWith("/")) throw new ZipRejected(`symlink '${c.path}' points to an absolute path`);
        links.set(c.path, target);
      }
      // Let other requests run between entries of a big upload: never more than ~10 ms at a time.
      if (performance.now() - lastYield > 10) {
        await new Promise((r) => setImmediate(r));
        lastYield = performance.now();
      }
    }

    // The tree as staging will build it: nothing may sit below a link (s -> sub plus s/f.txt) or a file.
    for (const c of out) {
      const parts = c.path.split("/");
      for (let n = 1; n < parts.length; n++) {
        const above = kinds.get(parts.slice(0, n).join("/"));
        if (above === "symlink") throw new ZipRejected(`path '${c.path}' lies below the symlink '${parts.slice(0, n).join("/")}'`);
        if (above === "file") throw new ZipRejected(`path '${c.path}' lies below the file '${parts.slice(0, n).join("/")}'`);
      }
    }
    for (const path of links.keys()) {
      try {
        resolveLink(links, path);
      } catch (err) {
        if (err instanceof UnsafeArchiveError) throw new ZipRejected(`symlink '${path}' points outside the app directory`, { cause: err });
        throw err;
      }
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** The content of a checked file entry, inflated piece by piece (for the resource cache). */
export async function* entryContent(file: string, e: CheckedEntry): AsyncGenerator<Uint8Array> {
  if (e.compressedSize === 0) return;
  const input = createReadStream(file, { start: e.dataStart, end: e.dataStart + e.compressedSize - 1, highWaterMark: 1 << 20 });
  const stream = e.method === 0 ? input : input.pipe(createInflateRaw({ chunkSize: 1 << 20 }));
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) yield chunk;
  } finally {
    input.destroy();
  }
}
