import { createReadStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { fsyncDir } from "./atomic-file.ts";
import { DigestMismatchError, InvalidDigestError, SizeLimitError } from "./errors.ts";

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Throws unless `digest` is `sha256:<64 hex>`; other algorithms are rejected as unsupported. */
export function assertDigest(digest: string): void {
  if (DIGEST.test(digest)) return;
  const unsupported = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(digest) && !digest.startsWith("sha256:");
  throw new InvalidDigestError(digest, unsupported);
}

export interface PutOptions {
  /** When set, the content must hash to this digest or nothing is stored. */
  expectedDigest?: string;
  maxBytes?: number;
}

export interface PutResult {
  digest: string;
  size: number;
}

type Chunks = AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

/**
 * Content-addressed blob storage on disk (`<root>/sha256/ab/<hex>`). Content is
 * hashed while it streams into a temp file, fsynced, and renamed into place
 * only once its digest is known and checked, so a visible blob is always whole.
 */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class BlobStore {
  readonly root: string;
  readonly tmpDir: string;

  constructor(root: string) {
    this.root = root;
    this.tmpDir = join(root, "tmp");
    mkdirSync(join(root, "sha256"), { recursive: true });
    mkdirSync(this.tmpDir, { recursive: true });
  }

  /** Path of a stored blob (exists or not); digest must be valid. */
  path(digest: string): string {
    assertDigest(digest);
    const hex = digest.slice(7);
    return join(this.root, "sha256", hex.slice(0, 2), hex);
  }

  has(digest: string): boolean {
    return DIGEST.test(digest) && existsSync(this.path(digest));
  }

  /** Size in bytes, or null when absent. */
  size(digest: string): number | null {
    if (!DIGEST.test(digest)) return null;
    try {
      return statSync(this.path(digest)).size;
    } catch {
      return null;
    }
  }

  /**
   * Removes temp files of processes that died mid-write (a kill -9 during an
   * upload): temp names carry the writer's pid; a live writer's are kept (a
   * CLI command may open the store while the appliance runs).
   */
  sweepTemp(): number {
    let n = 0;
    for (const name of readdirSync(this.tmpDir)) {
      const pid = Number(/-p(\d+)-\d{10,}-/.exec(name)?.[1] ?? NaN);
      if (!Number.isInteger(pid) || pid === process.pid || pidAlive(pid)) continue;
      rmSync(join(this.tmpDir, name), { recursive: true, force: true });
      n++;
    }
    return n;
  }

  /** A fresh temp path inside the store's filesystem (so rename is atomic). */
  tempPath(prefix = "blob"): string {
    return join(this.tmpDir, `${prefix}-p${process.pid}-${Date.now()}-${crypto.randomUUID()}`);
  }

  /** Stream content in; returns its digest. Partial or mismatched content leaves nothing behind. */
  async put(chunks: Chunks, opts: PutOptions = {}): Promise<PutResult> {
    if (opts.expectedDigest) assertDigest(opts.expectedDigest);
    const tmp = this.tempPath();
    const hasher = new Bun.CryptoHasher("sha256");
    const fh = await open(tmp, "w", 0o600);
    let size = 0;
    try {
      for await (const chunk of chunks as AsyncIterable<Uint8Array>) {
        size += chunk.byteLength;
        if (opts.maxBytes !== undefined && size > opts.maxBytes) throw new SizeLimitError(opts.maxBytes);
        hasher.update(chunk);
        let off = 0;
        while (off < chunk.byteLength) off += (await fh.write(chunk, off, chunk.byteLength - off)).bytesWritten;
      }
      await fh.sync();
    } catch (err) {
      await fh.close();
      rmSync(tmp, { force: true });
      throw err;
    }
    await fh.close();
    const digest = `sha256:${hasher.digest("hex")}`;
    return this.commitTemp(tmp, digest, size, opts.expectedDigest);
  }

  /** Put a whole in-memory buffer (manifests, configs, small files). */
  putBytes(data: Uint8Array | string, opts: PutOptions = {}): Promise<PutResult> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    return this.put((async function* () { yield bytes; })(), opts);
  }

  /**
   * Adopt a complete temp file (e.g. a finished chunked upload): hash it, check
   * it, move it into place. The file must live under `tmpDir`.
   */
  async ingestFile(tmp: string, expectedDigest?: string): Promise<PutResult> {
    if (expectedDigest) assertDigest(expectedDigest);
    const hasher = new Bun.CryptoHasher("sha256");
    let size = 0;
    for await (const chunk of createReadStream(tmp, { highWaterMark: 1 << 20 })) {
      hasher.update(chunk as Buffer);
      size += (chunk as Buffer).byteLength;
    }
    const fh = await open(tmp, "r+");
    await fh.sync();
    await fh.close();
    return this.commitTemp(tmp, `sha256:${hasher.digest("hex")}`, size, expectedDigest);
  }

  /** Move an already hashed and fsynced temp file into place. */
  commitTemp(tmp: string, digest: string, size: number, expected?: string): PutResult {
    if (expected && expected !== digest) {
      rmSync(tmp, { force: true });
      throw new DigestMismatchError(expected, digest);
    }
    const dest = this.path(digest);
    if (existsSync(dest)) {
      // Same digest, same bytes: the stored copy stands and the directory needs no new sync.
      rmSync(tmp, { force: true });
      return { digest, size };
    }
    const dir = join(dest, "..");
    mkdirSync(dir, { recursive: true });
    renameSync(tmp, dest);
    fsyncDir(dir);
    return { digest, size };
  }

  /** Read a blob as a web stream (optionally a byte range, end exclusive). */
  stream(digest: string, start?: number, end?: number): ReadableStream<Uint8Array> {
    const file = Bun.file(this.path(digest));
    return (start !== undefined ? file.slice(start, end) : file).stream();
  }

  async bytes(digest: string): Promise<Uint8Array> {
    return new Uint8Array(await Bun.file(this.path(digest)).arrayBuffer());
  }

  /** Remove a blob; removing an absent one succeeds. */
  delete(digest: string): boolean {
    if (!this.has(digest)) return false;
    rmSync(this.path(digest), { force: true });
    return true;
  }

  /** Every stored digest. */
  *list(): Generator<string> {
    const base = join(this.root, "sha256");
    for (const prefix of readdirSync(base)) {
      for (const hex of readdirSync(join(base, prefix))) if (/^[a-f0-9]{64}$/.test(hex)) yield `sha256:${hex}`;
    }
  }
}
