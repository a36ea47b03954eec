import type { Database } from "bun:sqlite";
import { closeSync, fsyncSync, ftruncateSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { DigestMismatchError, type BlobStore, type PutResult } from "../store/index.ts";
import { OciError, uploadUnknown } from "./errors.ts";

export interface UploadSession {
  uuid: string;
  repository: string;
  size: number;
}

interface Live {
  hasher: Bun.CryptoHasher;
  size: number;
  busy: boolean;
}

const rangeError = (message: string, detail?: unknown) => new OciError("BLOB_UPLOAD_INVALID", message, 416, detail);

/**
 * Resumable blob uploads: each session is a row in SQLite plus a temp file in
 * the blob store's temp directory. Chunks are hashed as they are appended, so
 * finishing an upload is a digest compare, an fsync and a rename; after a
 * restart the running hash is gone and the file is re-hashed once instead.
 */
export class Uploads {
  private readonly live = new Map<string, Live>();

  constructor(
    private readonly db: Database,
    private readonly blobs: BlobStore,
    private readonly maxBytes: number,
    private readonly now: () => number = Date.now,
  ) {}

  private file(uuid: string): string {
    return join(this.blobs.tmpDir, `upload-${uuid}`);
  }

  start(repository: string): UploadSession {
    const uuid = crypto.randomUUID();
    closeSync(openSync(this.file(uuid), "w", 0o644));
    const t = this.now();
    this.db.query("INSERT INTO registry_uploads (uuid, repository, size, started_at, updated_at) VALUES (?, ?, 0, ?, ?)").run(uuid, repository, t, t);
    this.live.set(uuid, { hasher: new Bun.CryptoHasher("sha256"), size: 0, busy: false });
    return { uuid, repository, size: 0 };
  }

  get(repository: string, uuid: string): UploadSession {
    if (!/^[0-9a-f-]{36}$/.test(uuid)) throw uploadUnknown(uuid);
    const row = this.db.query("SELECT uuid, repository, size FROM registry_uploads WHERE uuid = ?").get(uuid) as UploadSession | null;
    if (!row || row.repository !== repository) throw uploadUnknown(uuid);
    return row;
  }

  /**
   * Appends a chunk. `range` (from Content-Range) must start at the current
   * size; `length` (Content-Length) must match the bytes that arrive.
   */
  async append(session: UploadSession, body: ReadableStream<Uint8Array> | null, range?: { start: number; end: number }, length?: number): Promise<UploadSession> {
    const live = this.liveFor(session);
    if (live.busy) throw rangeError("another chunk of this upload is in progress");
    if (range && range.start !== session.size) throw rangeError(`chunk starts at ${range.start} but the upload holds ${session.size} bytes`, { size: session.size });
    if (range && length !== undefined && range.end - range.start + 1 !== length) throw rangeError("Content-Range does not match Content-Length");
    live.busy = true;
    const fd = openSync(this.file(session.uuid), "r+");
    let pos = session.size;
    let ok = false;
    try {
      if (body) {
        for await (const chunk of body) {
          if (pos + chunk.byteLength > this.maxBytes) throw new OciError("SIZE_INVALID", `upload exceeds the size limit of ${this.maxBytes} bytes`, 413, { limit: this.maxBytes });
          let off = 0;
          while (off < chunk.byteLength) off += writeSync(fd, chunk, off, chunk.byteLength - off, pos + off);
          if (live.size === pos) {
            live.hasher.update(chunk);
            live.size += chunk.byteLength;
          }
          pos += chunk.byteLength;
        }
      }
      const got = pos - session.size;
      if (length !== undefined && got !== length) throw new OciError("SIZE_INVALID", `expected ${length} bytes, received ${got}`, 400);
      if (range && got !== range.end - range.start + 1) throw rangeError("chunk length does not match Content-Range");
      ok = true;
    } finally {
      closeSync(fd);
      live.busy = false;
      if (!ok) {
        // A failed chunk leaves the upload as it was before it.
        this.truncate(session, live);
      }
    }
    this.db.query("UPDATE registry_uploads SET size = ?, updated_at = ? WHERE uuid = ?").run(pos, this.now(), session.uuid);
    return { ...session, size: pos };
  }

  /** Verifies the digest and moves the upload into the blob store; the session is gone afterwards either way. */
  async finish(session: UploadSession, digest: string): Promise<PutResult> {
    const file = this.file(session.uuid);
    const live = this.live.get(session.uuid);
    try {
      if (live && !live.busy && live.size === session.size) {
        const actual = `sha256:${live.hasher.digest("hex")}`;
        if (actual !== digest) throw new DigestMismatchError(digest, actual);
        const fd = openSync(file, "r+");
        try {
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        return this.blobs.commitTemp(file, actual, session.size, digest);
      }
      return await this.blobs.ingestFile(file, digest);
    } finally {
      this.forget(session.uuid);
    }
  }

  cancel(session: UploadSession): void {
    this.forget(session.uuid);
  }

  /** Removes sessions idle for longer than `maxAgeMs`; returns how many. */
  expire(maxAgeMs: number): number {
    const old = this.db.query("SELECT uuid FROM registry_uploads WHERE updated_at < ?").all(this.now() - maxAgeMs) as { uuid: string }[];
    for (const { uuid } of old) if (!this.live.get(uuid)?.busy) this.forget(uuid);
    return old.length;
  }

  isUploadFile(name: string): boolean {
    const m = /^upload-([0-9a-f-]{36})$/.exec(name);
    return !!m && !!this.db.query("SELECT 1 FROM registry_uploads WHERE uuid = ?").get(m[1]!);
  }

  private liveFor(session: UploadSession): Live {
    let live = this.live.get(session.uuid);
    if (!live) {
      // After a restart the running hash is lost; it is rebuilt from the file at finish.
      live = { hasher: new Bun.CryptoHasher("sha256"), size: -1, busy: false };
      this.live.set(session.uuid, live);
    }
    return live;
  }

  private truncate(session: UploadSession, live: Live): void {
    const fd = openSync(this.file(session.uuid), "r+");
    try {
      if (statSync(this.file(session.uuid)).size > session.size) {
        ftruncateSync(fd, session.size);
      }
    } finally {
      closeSync(fd);
    }
    if (live.size !== session.size) live.size = -1;
  }

  private forget(uuid: string): void {
    this.live.delete(uuid);
    rmSync(this.file(uuid), { force: true });
    this.db.query("DELETE FROM registry_uploads WHERE uuid = ?").run(uuid);
  }
}
