import { open, type FileHandle } from "node:fs/promises";
import type { CheckedEntry } from "./zip-check.ts";

/**
 * Writes the stored package zip as a stream: the upload's checked entries are
 * copied with their compressed bytes as they are (no inflate, no deflate: the
 * CRCs were verified against the content), under their normalised names and
 * modes, and files from the resource cache are added stored. Memory stays at
 * one copy buffer whatever the package size.
 */
export interface CachedFile {
  path: string;
  mode: number;
  /** File on disk with the content (a blob). */
  source: string;
  size: number;
}

const COPY_CHUNK = 1 << 20;
/** 1980-01-01 00:00 in DOS date/time: the stored package carries no timestamps. */
const DOS_DATE = 0x21;
const UTF8_NAMES = 0x0800;

interface Written {
  name: Buffer;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  mode: number;
  offset: number;
}

async function crcOfFile(path: string): Promise<number> {
  let crc = 0;
  for await (const chunk of Bun.file(path).stream()) crc = Bun.hash.crc32(chunk, crc);
  return crc >>> 0;
}

class Writer {
  offset = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  constructor(private readonly fh: FileHandle) {}

  async put(buf: Uint8Array): Promise<void> {
    this.pending.push(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
    this.pendingBytes += buf.byteLength;
    this.offset += buf.byteLength;
    if (this.pendingBytes >= COPY_CHUNK) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    for (let off = 0; off < all.length; ) off += (await this.fh.write(all, off, all.length - off)).bytesWritten;
  }

  /** Copies `length` bytes of `src` from `position`, a buffer at a time. */
  async copy(src: FileHandle, position: number, length: number): Promise<void> {
    await this.flush();
    const buf = Buffer.allocUnsafe(Math.min(COPY_CHUNK, Math.max(1, length)));
    for (let done = 0; done < length; ) {
      const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, length - done), position + done);
      if (bytesRead === 0) throw new Error("the uploaded zip shrank while it was copied");
      for (let off = 0; off < bytesRead; ) off += (await this.fh.write(buf, off, bytesRead - off)).bytesWritten;
      done += bytesRead;
      this.offset += bytesRead;
    }
  }
}

function localHeader(w: Omit<Written, "offset">): Buffer {
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(20, 4);
  h.writeUInt16LE(UTF8_NAMES, 6);
  h.writeUInt16LE(w.method, 8);
  h.writeUInt16LE(0, 10);
  h.writeUInt16LE(DOS_DATE, 12);
  h.writeUInt32LE(w.crc32 >>> 0, 14);
  h.writeUInt32LE(w.compressedSize, 18);
  h.writeUInt32LE(w.size, 22);
  h.writeUInt16LE(w.name.length, 26);
  h.writeUInt16LE(0, 28);
  return Buffer.concat([h, w.name]);
}

function centralHeader(w: Written): Buffer {
  const h = Buffer.alloc(46);
  h.writeUInt32LE(0x02014b50, 0);
  h.writeUInt16LE((3 << 8) | 20, 4); // made by Unix: the mode is in the external attributes
  h.writeUInt16LE(20, 6);
  h.writeUInt16LE(UTF8_NAMES, 8);
  h.writeUInt16LE(w.method, 10);
  h.writeUInt16LE(0, 12);
  h.writeUInt16LE(DOS_DATE, 14);
  h.writeUInt32LE(w.crc32 >>> 0, 16);
  h.writeUInt32LE(w.compressedSize, 20);
  h.writeUInt32LE(w.size, 24);
  h.writeUInt16LE(w.name.length, 28);
  h.writeUInt32LE(((w.mode & 0xffff) << 16) >>> 0, 38);
  h.writeUInt32LE(w.offset, 42);
  return Buffer.concat([h, w.name]);
}

/** Writes `out` (a new file): the upload's entries, then the cached files not already in it. */
export async function writePackageZip(out: string, upload: { file: string; entries: CheckedEntry[] } | null, cached: CachedFile[]): Promise<void> {
  const fh = await open(out, "wx", 0o600);
  const src = upload ? await open(upload.file, "r") : null;
  try {
    const w = new Writer(fh);
    const written: Written[] = [];
    const add = async (entry: Omit<Written, "offset">, body: (w: Writer) => Promise<void>) => {
      if (w.offset > 0xffffffff || written.length >= 0xffff) throw new Error("the package is too large for a zip without zip64");
      written.push({ ...entry, offset: w.offset });
      await w.put(localHeader(entry));
      await body(w);
    };
    const seen = new Set<string>();
    for (const e of upload?.entries ?? []) {
      seen.add(e.path);
      const name = Buffer.from(e.kind === "dir" ? `${e.path}/` : e.path, "utf8");
      await add({ name, method: e.method, crc32: e.crc32, compressedSize: e.compressedSize, size: e.size, mode: e.mode }, (wr) => wr.copy(src!, e.dataStart, e.compressedSize));
    }
    for (const c of cached) {
      if (seen.has(c.path)) continue;
      seen.add(c.path);
      const file = await open(c.source, "r");
      try {
        const crc32 = await crcOfFile(c.source);
        await add({ name: Buffer.from(c.path, "utf8"), method: 0, crc32, compressedSize: c.size, size: c.size, mode: c.mode }, (wr) => wr.copy(file, 0, c.size));
      } finally {
        await file.close();
      }
    }
    const cdStart = w.offset;
    for (const e of written) await w.put(centralHeader(e));
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(written.length, 8);
    eocd.writeUInt16LE(written.length, 10);
    eocd.writeUInt32LE(w.offset - cdStart, 12);
    eocd.writeUInt32LE(cdStart, 16);
    await w.put(eocd);
    await w.flush();
    await fh.sync();
  } finally {
    await src?.close();
    await fh.close();
  }
}
