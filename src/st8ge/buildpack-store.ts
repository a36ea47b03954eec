import type { Database } from "bun:sqlite";
import { closeSync, openSync, rmSync, statSync, writeFileSync } from "node:fs";
import type { BlobStore } from "../store/index.ts";
import { UnsafeArchiveError } from "./errors.ts";
import { cleanEntryName } from "./unpack/safe-tree.ts";
import { readZipDirectory } from "./unpack/unzip.ts";
import { detectSource } from "./unpack/package-source.ts";
import { dirItems, zipItems } from "./zip-dir.ts";

/** An admin buildpack (CF's V3 buildpack resource, minus links). */
export interface Buildpack {
  guid: string;
  name: string;
  /** 1-based order of autodetection; contiguous. */
  position: number;
  enabled: boolean;
  /** A locked buildpack's bits cannot be replaced. */
  locked: boolean;
  stack: string | null;
  /** `sha256:<hex>` of its zip in the blob store, null until bits are uploaded. */
  blob_digest: string | null;
  filename: string | null;
  created_at: string;
  updated_at: string;
}

export type BuildpackErrorCode = "not_found" | "name_taken" | "invalid_name" | "invalid_position" | "locked" | "invalid_bits";

/** A refused buildpack operation; `code` tells the API which status to answer. */
export class BuildpackError extends Error {
  override name = "BuildpackError";
  constructor(readonly code: BuildpackErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

export interface BuildpackCreate {
  name: string;
  position?: number;
  enabled?: boolean;
  locked?: boolean;
  stack?: string | null;
}

export type BuildpackUpdate = Partial<BuildpackCreate>;

interface Row {
  guid: string;
  name: string;
  position: number;
  enabled: number;
  locked: number;
  stack: string | null;
  blob_digest: string | null;
  filename: string | null;
  created_at: string;
  updated_at: string;
}

const NAME = /^[A-Za-z0-9_-]{1,250}$/;
const toBuildpack = (r: Row): Buildpack => ({ ...r, enabled: r.enabled === 1, locked: r.locked === 1 });

/** Largest buildpack zip accepted. */
const MAX_BITS = 2 * 1024 ** 3;

/**
 * Checks that a zip is a buildpack before it is stored: a readable central
 * directory, safe names, and a bin/ with a way to build (compile, supply or
 * finalize). Symlinks and sizes are checked again when staging unpacks it.
 */
function validateBuildpackZip(path: string): void {
  const fd = openSync(path, "r");
  try {
    const { entries } = readZipDirectory(fd, { maxBytes: 8 * 1024 ** 3, maxEntries: 200_000 });
    const names = new Set(entries.map((e) => cleanEntryName(e.name)));
    if (!["bin/compile", "bin/supply", "bin/finalize"].some((n) => names.has(n))) {
      throw new UnsafeArchiveError("it has no bin/compile, bin/supply or bin/finalize at its root");
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The admin buildpack store: rows in SQLite (`buildpacks`), zips in the blob
 * store. Positions stay contiguous from 1: creating or moving to position N
 * shifts the others down, deleting closes the gap. Every change commits
 * before it returns.
 */
export class BuildpackStore {
  constructor(
    private readonly db: Database,
    private readonly blobs: BlobStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Every buildpack in position order. */
  list(): Buildpack[] {
    return (this.db.query("SELECT * FROM buildpacks ORDER BY position, name").all() as Row[]).map(toBuildpack);
  }

  get(name: string): Buildpack | null {
    const r = this.db.query("SELECT * FROM buildpacks WHERE name = ?").get(name) as Row | null;
    return r ? toBuildpack(r) : null;
  }

  getByGuid(guid: string): Buildpack | null {
    const r = this.db.query("SELECT * FROM buildpacks WHERE guid = ?").get(guid) as Row | null;
    return r ? toBuildpack(r) : null;
  }

  private must(name: string): Buildpack {
    const bp = this.get(name);
    if (!bp) throw new BuildpackError("not_found", `buildpack ${JSON.stringify(name)} not found`);
    return bp;
  }

  private count(): number {
    return (this.db.query("SELECT COUNT(*) AS n FROM buildpacks").get() as { n: number }).n;
  }

  private static checkPosition(p: number | undefined): void {
    if (p !== undefined && (!Number.isInteger(p) || p < 1)) throw new BuildpackError("invalid_position", `position must be a whole number from 1, got ${p}`);
  }

  /** A buildpack without bits yet (CF's AWAITING_UPLOAD); position defaults to last. */
  create(input: BuildpackCreate): Buildpack {
    if (!NAME.test(input.name)) throw new BuildpackError("invalid_name", `buildpack name ${JSON.stringify(input.name)} may only hold letters, digits, "_" and "-"`);
    BuildpackStore.checkPosition(input.position);
    const guid = crypto.randomUUID();
    const ts = this.now().toISOString();
    this.db.transaction(() => {
      if (this.get(input.name)) throw new BuildpackError("name_taken", `buildpack ${JSON.stringify(input.name)} already exists`);
      const pos = Math.min(input.position ?? Infinity, this.count() + 1);
      this.db.query("UPDATE buildpacks SET position = position + 1 WHERE position >= ?").run(pos);
      this.db
        .query("INSERT INTO buildpacks (guid, name, position, enabled, locked, stack, blob_digest, filename, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?)")
        .run(guid, input.name, pos, input.enabled === false ? 0 : 1, input.locked ? 1 : 0, input.stack ?? null, ts, ts);
    }).immediate();
    return this.getByGuid(guid)!;
  }

  /** Changes name, position, enabled, locked or stack. */
  update(name: string, patch: BuildpackUpdate): Buildpack {
    BuildpackStore.checkPosition(patch.position);
    if (patch.name !== undefined && !NAME.test(patch.name)) throw new BuildpackError("invalid_name", `buildpack name ${JSON.stringify(patch.name)} may only hold letters, digits, "_" and "-"`);
    let guid = "";
    this.db.transaction(() => {
      const bp = this.must(name);
      guid = bp.guid;
      if (patch.name !== undefined && patch.name !== name && this.get(patch.name)) throw new BuildpackError("name_taken", `buildpack ${JSON.stringify(patch.name)} already exists`);
      if (patch.position !== undefined && patch.position !== bp.position) {
        const pos = Math.min(patch.position, this.count());
        this.db.query("UPDATE buildpacks SET position = position - 1 WHERE position > ?").run(bp.position);
        this.db.query("UPDATE buildpacks SET position = position + 1 WHERE position >= ? AND guid <> ?").run(pos, bp.guid);
        this.db.query("UPDATE buildpacks SET position = ? WHERE guid = ?").run(pos, bp.guid);
      }
      this.db
        .query("UPDATE buildpacks SET name = ?, enabled = ?, locked = ?, stack = ?, updated_at = ? WHERE guid = ?")
        .run(
          patch.name ?? bp.name,
          (patch.enabled ?? bp.enabled) ? 1 : 0,
          (patch.locked ?? bp.locked) ? 1 : 0,
          patch.stack === undefined ? bp.stack : patch.stack,
          this.now().toISOString(),
          bp.guid,
        );
    }).immediate();
    return this.getByGuid(guid)!;
  }

  /**
   * Stores new bits for a buildpack: a zip (checked) or a directory (zipped
   * with its modes). Refused for a locked buildpack. The old zip's blob is
   * removed once nothing refers to it.
   */
  async upload(name: string, path: string, filename?: string): Promise<Buildpack> {
    const bp = this.must(name);
    if (bp.locked) throw new BuildpackError("locked", `buildpack ${JSON.stringify(name)} is locked`);
    let digest: string;
    try {
      const src = detectSource(path);
      if ("tar" in src) throw new UnsafeArchiveError("a buildpack must be a zip file or a directory");
      if ("dir" in src) {
        digest = (await this.blobs.putBytes(zipItems(dirItems(src.dir)))).digest;
      } else {
        if (statSync(src.zip).size > MAX_BITS) throw new UnsafeArchiveError(`zip is larger than ${MAX_BITS} bytes`);
        validateBuildpackZip(src.zip);
        digest = (await this.blobs.put(Bun.file(src.zip).stream(), { maxBytes: MAX_BITS })).digest;
      }
    } catch (err) {
      if (err instanceof BuildpackError) throw err;
      throw new BuildpackError("invalid_bits", `buildpack ${JSON.stringify(name)} refused: ${(err as Error).message}`, { cause: err });
    }
    return this.setBits(bp.guid, digest, filename ?? path.split("/").pop() ?? name);
  }

  /** Stores in-memory zip bytes (already built, e.g. the built-ins). */
  async uploadZipBytes(name: string, zip: Uint8Array, filename: string): Promise<Buildpack> {
    const bp = this.must(name);
    if (bp.locked) throw new BuildpackError("locked", `buildpack ${JSON.stringify(name)} is locked`);
    const tmp = this.blobs.tempPath("buildpack");
    writeFileSync(tmp, zip);
    try {
      validateBuildpackZip(tmp);
    } catch (err) {
      throw new BuildpackError("invalid_bits", `buildpack ${JSON.stringify(name)} refused: ${(err as Error).message}`, { cause: err });
    } finally {
      rmSync(tmp, { force: true });
    }
    const { digest } = await this.blobs.putBytes(zip);
    return this.setBits(bp.guid, digest, filename);
  }

  private setBits(guid: string, digest: string, filename: string): Buildpack {
    let old: string | null = null;
    this.db.transaction(() => {
      const cur = this.getByGuid(guid);
      if (!cur) throw new BuildpackError("not_found", "buildpack was deleted during the upload");
      if (cur.locked) throw new BuildpackError("locked", `buildpack ${JSON.stringify(cur.name)} is locked`);
      old = cur.blob_digest;
      this.db.query("UPDATE buildpacks SET blob_digest = ?, filename = ?, updated_at = ? WHERE guid = ?").run(digest, filename, this.now().toISOString(), guid);
    }).immediate();
    if (old && old !== digest) this.dropBlobIfUnused(old);
    return this.getByGuid(guid)!;
  }

  /** Creates a buildpack with bits in one step; nothing is created when the bits are refused. */
  async add(input: BuildpackCreate, path: string, filename?: string): Promise<Buildpack> {
    const bp = this.create({ ...input, locked: false });
    try {
      await this.upload(bp.name, path, filename);
    } catch (err) {
      this.delete(bp.name);
      throw err;
    }
    return input.locked ? this.update(bp.name, { locked: true }) : this.getByGuid(bp.guid)!;
  }

  /** Removes a buildpack and, when no other buildpack uses it, its zip. */
  delete(name: string): void {
    const bp = this.must(name);
    this.db.transaction(() => {
      this.db.query("DELETE FROM buildpacks WHERE guid = ?").run(bp.guid);
      this.db.query("UPDATE buildpacks SET position = position - 1 WHERE position > ?").run(bp.position);
    }).immediate();
    if (bp.blob_digest) this.dropBlobIfUnused(bp.blob_digest);
  }

  /** Path of a buildpack's zip, or null while it has no bits. */
  zipPath(bp: Buildpack): string | null {
    return bp.blob_digest && this.blobs.has(bp.blob_digest) ? this.blobs.path(bp.blob_digest) : null;
  }

  private dropBlobIfUnused(digest: string): void {
    const used = this.db.query("SELECT 1 FROM buildpacks WHERE blob_digest = ? LIMIT 1").get(digest);
    if (!used) this.blobs.delete(digest);
  }
}
