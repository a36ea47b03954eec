import { closeSync, createReadStream, openSync, readSync, fstatSync } from "node:fs";
import { createInflateRaw, inflateRawSync } from "node:zlib";
import { UnsafeArchiveError } from "../errors.ts";
import { cleanEntryName, DEFAULT_TREE_LIMITS, SafeTree, writeAll, type TreeLimits } from "./safe-tree.ts";

/** One entry as the zip's central directory declares it. */
export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  /** Unix mode from the external attributes, or null for zips made elsewhere (DOS). */
  unixMode: number | null;
}

export interface UnzipOptions {
  limits?: TreeLimits;
  /** Mode for files of zips without Unix attributes (e.g. made on Windows); default 0644. */
  defaultMode?: (name: string) => number;
}

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_LOC64 = 0x07064b50;
const SIG_CEN = 0x02014b50;
const SIG_LOC = 0x04034b50;
/** Entries above this are inflated as a stream instead of in memory. */
const IN_MEMORY_MAX = 32 * 1024 * 1024;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

function pread(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) throw new UnsafeArchiveError("zip is truncated");
    got += n;
  }
  return buf;
}

function findEocd(fd: number, fileSize: number): { buf: Buffer; at: number } {
  const tail = Math.min(fileSize, 22 + 65535);
  const buf = pread(fd, tail, fileSize - tail);
  for (let i = tail - 22; i >= 0; i--) if (buf.readUInt32LE(i) === SIG_EOCD) return { buf: buf.subarray(i), at: fileSize - tail + i };
  throw new UnsafeArchiveError("not a zip file (no end of central directory)");
}

/** Reads and checks the central directory: declared sizes, names, overlaps. */
export function readZipDirectory(fd: number, limits: TreeLimits = DEFAULT_TREE_LIMITS): { entries: ZipEntry[]; cdOffset: number } {
  const fileSize = fstatSync(fd).size;
  const { buf: eocd, at } = findEocd(fd, fileSize);
  let count = eocd.readUInt16LE(10);
  let cdSize = eocd.readUInt32LE(12);
  let cdOffset = eocd.readUInt32LE(16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    if (at < 20) throw new UnsafeArchiveError("zip64 locator missing");
    const loc = pread(fd, 20, at - 20);
    if (loc.readUInt32LE(0) !== SIG_LOC64) throw new UnsafeArchiveError("zip64 locator missing");
    const rec = pread(fd, 56, Number(loc.readBigUInt64LE(8)));
    if (rec.readUInt32LE(0) !== SIG_EOCD64) throw new UnsafeArchiveError("zip64 end record missing");
    count = Number(rec.readBigUInt64LE(32));
    cdSize = Number(rec.readBigUInt64LE(40));
    cdOffset = Number(rec.readBigUInt64LE(48));
  }
  if (count > limits.maxEntries) throw new UnsafeArchiveError(`zip declares ${count} entries, more than the limit of ${limits.maxEntries}`);
  if (cdOffset + cdSize > fileSize) throw new UnsafeArchiveError("zip central directory lies beyond the end of the file");
  const cd = pread(fd, cdSize, cdOffset);
  const entries: ZipEntry[] = [];
  let p = 0;
  let declared = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG_CEN) throw new UnsafeArchiveError("zip central directory is corrupt");
    const madeBy = cd.readUInt16LE(p + 4);
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    const crc32 = cd.readUInt32LE(p + 16);
    let compressedSize = cd.readUInt32LE(p + 20);
    let size = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    const external = cd.readUInt32LE(p + 38);
    let localOffset = cd.readUInt32LE(p + 42);
    const name = cd.toString("utf8", p + 46, p + 46 + nameLen);
    const extra = cd.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen);
    for (let e = 0; e + 4 <= extra.length; ) {
      const id = extra.readUInt16LE(e);
      const len = extra.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) (size = Number(extra.readBigUInt64LE(q))), (q += 8);
        if (compressedSize === 0xffffffff) (compressedSize = Number(extra.readBigUInt64LE(q))), (q += 8);
        if (localOffset === 0xffffffff) localOffset = Number(extra.readBigUInt64LE(q));
      }
      e += 4 + len;
    }
    p += 46 + nameLen + extraLen + commentLen;
    if (flags & 1) throw new UnsafeArchiveError(`zip entry ${JSON.stringify(name)} is encrypted`);
    if (method !== 0 && method !== 8) throw new UnsafeArchiveError(`zip entry ${JSON.stringify(name)} uses unsupported compression method ${method}`);
    if (method === 0 && compressedSize !== size) throw new UnsafeArchiveError(`zip entry ${JSON.stringify(name)} is stored but declares different sizes`);
    declared += size;
    if (declared > limits.maxBytes) throw new UnsafeArchiveError(`zip declares more than the size limit of ${limits.maxBytes} bytes`);
    entries.push({ name, method, flags, crc32, compressedSize, size, localOffset, unixMode: madeBy >> 8 === 3 ? external >>> 16 : null });
  }
  return { entries, cdOffset };
}

/** Offset of an entry's data; checks that entries do not share bytes (overlap bombs). */
export function dataOffsets(fd: number, entries: ZipEntry[], cdStart: number): Map<ZipEntry, number> {
  const out = new Map<ZipEntry, number>();
  const sorted = [...entries].sort((a, b) => a.localOffset - b.localOffset);
  sorted.forEach((e, i) => {
    const loc = pread(fd, 30, e.localOffset);
    if (loc.readUInt32LE(0) !== SIG_LOC) throw new UnsafeArchiveError(`zip entry ${JSON.stringify(e.name)} has no local header`);
    const start = e.localOffset + 30 + loc.readUInt16LE(26) + loc.readUInt16LE(28);
    const end = start + e.compressedSize;
    const limit = i + 1 < sorted.length ? sorted[i + 1]!.localOffset : cdStart;
    if (end > limit) throw new UnsafeArchiveError(`zip entry ${JSON.stringify(e.name)} overlaps another entry`);
    out.set(e, start);
  });
  return out;
}

function sizeMismatch(e: ZipEntry, actual: string): UnsafeArchiveError {
  return new UnsafeArchiveError(`zip entry ${JSON.stringify(e.name)} declares ${e.size} bytes but holds ${actual}`);
}

function inflateInMemory(fd: number, e: ZipEntry, start: number): Buffer {
  const raw = pread(fd, e.compressedSize, start);
  if (e.method === 0) return raw;
  let out: Buffer;
  try {
    // One byte more than declared so that "more than declared" is seen, not silently cut.
    out = inflateRawSync(raw, { maxOutputLength: e.size + 1 });
  } catch (err) {
    if (/larger than|maxOutputLength|Cannot create a Buffer/i.test((err as Error).message)) throw sizeMismatch(e, "more");
    throw new UnsafeArchiveError(`zip entry ${JSON.stringify(e.name)} is corrupt (${(err as Error).message})`, { cause: err });
  }
  if (out.length !== e.size) throw sizeMismatch(e, `${out.length}`);
  return out;
}

async function inflateToFile(src: string, e: ZipEntry, start: number, outFd: number, tree: SafeTree): Promise<void> {
  const input = createReadStream(src, { start, end: start + e.compressedSize - 1, highWaterMark: 1 << 20 });
  const stream = e.method === 0 ? input : input.pipe(createInflateRaw());
  let written = 0;
  let crc = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      written += chunk.length;
      if (written > e.size) throw sizeMismatch(e, "more");
      tree.addBytes(chunk.length);
      crc = Bun.hash.crc32(chunk, crc);
      writeAll(outFd, chunk);
    }
  } catch (err) {
    input.destroy();
    if (err instanceof UnsafeArchiveError) throw err;
    throw new UnsafeArchiveError(`zip entry ${JSON.stringify(e.name)} is corrupt (${(err as Error).message})`, { cause: err });
  }
  if (written !== e.size) throw sizeMismatch(e, `${written}`);
  if (crc >>> 0 !== e.crc32) throw new UnsafeArchiveError(`zip entry ${JSON.stringify(e.name)} fails its CRC check`);
}

/**
 * Unpacks a zip file into `dest` (created; must not hold anything yet),
 * trusting nothing it declares: names are cleaned, sizes and CRCs are checked
 * against what the data really inflates to, totals are bounded, symlinks must
 * stay inside, and Unix modes (exec bits) are kept. Throws UnsafeArchiveError.
 */
export async function unzipFile(src: string, dest: string, opts: UnzipOptions = {}): Promise<{ entries: number; bytes: number }> {
  const limits = opts.limits ?? DEFAULT_TREE_LIMITS;
  const fd = openSync(src, "r");
  try {
    const { entries, cdOffset } = readZipDirectory(fd, limits);
    const offsets = dataOffsets(fd, entries, cdOffset);
    const tree = new SafeTree(dest, limits);
    let lastYield = performance.now();
    for (const e of entries) {
      const rel = cleanEntryName(e.name);
      const type = e.unixMode === null ? 0 : e.unixMode & S_IFMT;
      const isDir = e.name.endsWith("/") || type === S_IFDIR;
      const mode = e.unixMode !== null ? e.unixMode & 0o7777 : (opts.defaultMode?.(rel) ?? (isDir ? 0o755 : 0o644));
      const start = offsets.get(e)!;
      if (isDir) {
        tree.dir(rel, mode);
      } else if (type === S_IFLNK) {
        if (e.size > 4096) throw new UnsafeArchiveError(`zip symlink ${JSON.stringify(e.name)} has an oversized target`);
        tree.symlink(rel, inflateInMemory(fd, e, start).toString("utf8"));
      } else if (type === 0 || type === S_IFREG) {
        if (rel === "") throw new UnsafeArchiveError(`zip entry ${JSON.stringify(e.name)} has no name`);
        if (e.size <= IN_MEMORY_MAX && e.compressedSize <= IN_MEMORY_MAX) {
          const data = inflateInMemory(fd, e, start);
          if (Bun.hash.crc32(data) >>> 0 !== e.crc32) throw new UnsafeArchiveError(`zip entry ${JSON.stringify(e.name)} fails its CRC check`);
          tree.file(rel, data, mode);
        } else {
          const out = tree.openFile(rel, mode);
          try {
            await inflateToFile(src, e, start, out, tree);
          } finally {
            closeSync(out);
          }
        }
      } else {
        throw new UnsafeArchiveError(`zip entry ${JSON.stringify(e.name)} is a device, fifo or socket`);
      }
      // Let the appliance's other requests run while a big package unpacks: never more than ~10 ms at a time.
      if (performance.now() - lastYield > 10) {
        await new Promise((r) => setImmediate(r));
        lastYield = performance.now();
      }
    }
    tree.seal();
    return { entries: entries.length, bytes: tree.totalBytes };
  } finally {
    closeSync(fd);
  }
}
