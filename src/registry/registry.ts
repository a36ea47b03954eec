import { existsSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { deriveKey } from "../auth/index.ts";
import type { Config } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import { BlobStore, loadOrCreateSecret, randomPassword, type Store } from "../store/index.ts";
import { RegistryAuth, type Credentials } from "./auth.ts";
import { composeImage } from "./compose.ts";
import { buildDropletLayer, type DropletLayer } from "./droplet-layer.ts";
import { OciError, RegistryError } from "./errors.ts";
import { collectGarbage, type GcResult } from "./gc.ts";
import { shellLauncher, type Launcher } from "./launcher.ts";
import { parseManifest } from "./manifest.ts";
import { RegistryMetadata } from "./metadata.ts";
import { assertRepositoryName } from "./names.ts";
import { deleteStack, importStackFile, listStacks, loadStack, saveStack, type StackSummary } from "./stacks.ts";
import { Uploads } from "./uploads.ts";

export const PULL_USERNAME = "eirini-pull";
const PULL_SECRET = "registry-pull.password";

export interface RegistryOptions {
  store: Store;
  config: Config["registry"];
  tokenKey: string;
  logger: Logger;
  launcher?: Launcher;
  now?: () => number;
}

export interface ComposeRequest {
  /** sha256 hex of the droplet .tgz, stored in the appliance blob store at `sha256:<hash>`. */
  dropletHash: string;
  stack: string;
  repo: string;
  /** Overrides the droplet's staging_info.yml start_command when non-empty. */
  startCommand?: string;
}

export interface ComposedImage {
  /** `<repo>:<droplet hash>`, relative to the registry; prefix the registry host pullers use. */
  reference: string;
  repository: string;
  tag: string;
  /** Manifest digest, for pinning (`<repo>@<digest>`). */
  digest: string;
}

/** Every droplet image that was re-based, for callers that want to roll them out. */
export interface StackImportResult {
  name: string;
  source: StackSummary["source"];
  layers: number;
  rebased: ComposedImage[];
}

/**
 * The registry's state and operations, shared by the HTTP routes, the CLI
 * and other parts: metadata in SQLite, blobs in `<dataDir>/registry` (its
 * own content-addressed store, so GC can never touch droplets or packages),
 * uploads, auth, stacks and the droplet image composer.
 */
export class Registry {
  readonly meta: RegistryMetadata;
  readonly blobs: BlobStore;
  readonly uploads: Uploads;
  readonly auth: RegistryAuth;
  readonly config: Config["registry"];
  private readonly pull: Credentials;
  private readonly store: Store;
  readonly logger: Logger;
  private readonly launcher: Launcher;
  private readonly now: () => number;
  private readonly layerBuilds = new Map<string, Promise<DropletLayer>>();

  constructor(opts: RegistryOptions) {
    this.store = opts.store;
    this.config = opts.config;
    this.logger = opts.logger;
    this.launcher = opts.launcher ?? shellLauncher;
    this.now = opts.now ?? Date.now;
    this.meta = new RegistryMetadata(opts.store.db);
    this.blobs = new BlobStore(join(opts.store.dataDir, "registry"));
    this.uploads = new Uploads(opts.store.db, this.blobs, opts.config.maxUploadBytes, this.now);
    this.pull = { username: PULL_USERNAME, password: loadOrCreateSecret(opts.store.dataDir, PULL_SECRET, randomPassword).value };
    this.auth = new RegistryAuth({
      users: opts.store.users,
      pull: this.pull,
      key: deriveKey(opts.tokenKey, "registry"),
      anonymousPull: opts.config.anonymousPull,
      nowMs: this.now,
    });
  }

  /** The pull-only account for image pull secrets (kept in a 0600 file under secrets/). */
  pullCredentials(): Credentials {
    return { ...this.pull };
  }

  /** Marks a blob as recently wanted so GC's grace period covers an imminent manifest PUT. */
  touchBlob(digest: string): void {
    try {
      const t = new Date(this.now());
      utimesSync(this.blobs.path(digest), t, t);
    } catch {
      // Gone already; the caller reports it as unknown.
    }
  }

  /** Stores a manifest after checking everything it references exists; returns its digest. */
  putManifest(repository: string, bytes: Uint8Array, contentType: string | null, tag?: string): { digest: string; subject?: string } {
    assertRepositoryName(repository);
    const parsed = parseManifest(bytes, contentType);
    const digest = `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
    this.meta.putManifest(repository, digest, bytes, parsed, tag, () => {
      const missing = parsed.blobs.filter((b) => !this.blobs.has(b));
      if (missing.length) throw new OciError("MANIFEST_BLOB_UNKNOWN", "manifest references blobs unknown to the registry", 400, { digests: missing });
      const children = this.meta.missingManifests(repository, parsed.manifests);
      if (children.length) throw new OciError("MANIFEST_BLOB_UNKNOWN", "index references manifests unknown to this repository", 400, { digests: children });
      // A descriptor's size is part of what it promises: clients read exactly that many bytes.
      for (const [d, size] of parsed.sizes) {
        const actual = parsed.kind === "image" ? this.blobs.size(d) : (this.meta.getManifest(repository, { digest: d })?.content.byteLength ?? null);
        if (actual !== null && actual !== size) throw new OciError("MANIFEST_INVALID", `descriptor of ${d} declares ${size} bytes, but it has ${actual}`, 400, { digest: d, declared: size, actual });
      }
    });
    return { digest, subject: parsed.subject };
  }

  async importStack(name: string, file: string): Promise<StackImportResult> {
    const { source, image } = await importStackFile(this.store.db, this.blobs, name, file);
    saveStack(this.store.db, name, source, image);
    this.logger.info("stack imported", { stack: name, source, layers: image.layers.length });
    const rebased = await this.rebase(name);
    return { name, source, layers: image.layers.length, rebased };
  }

  listStacks(): StackSummary[] {
    return listStacks(this.store.db);
  }

  deleteStack(name: string): void {
    deleteStack(this.store.db, name);
  }

  /** Recomposes every droplet image on `stack` onto its current layers ("patch the stack, patch every app"). */
  private async rebase(stack: string): Promise<ComposedImage[]> {
    const rows = this.store.db.query("SELECT repository, droplet_hash, start_command FROM registry_droplet_images WHERE stack = ?").all(stack) as {
      repository: string;
      droplet_hash: string;
      start_command: string;
    }[];
    const out: ComposedImage[] = [];
    for (const r of rows) {
      try {
        out.push(await this.composeDropletImage({ dropletHash: r.droplet_hash, stack, repo: r.repository, startCommand: r.start_command }));
      } catch (err) {
        this.logger.warn("could not re-base droplet image", { repository: r.repository, droplet_hash: r.droplet_hash, error: err });
      }
    }
    if (rows.length) this.logger.info("droplet images re-based", { stack, images: out.length });
    return out;
  }

  private dropletLayer(hash: string): Promise<DropletLayer> {
    const row = this.store.db.query("SELECT digest, diff_id, size, start_command, created_at FROM registry_droplet_layers WHERE droplet_hash = ?").get(hash) as
      | { digest: string; diff_id: string; size: number; start_command: string; created_at: string }
      | null;
    if (row && this.blobs.has(row.digest)) {
      return Promise.resolve({ digest: row.digest, diffId: row.diff_id, size: row.size, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", startCommand: row.start_command });
    }
    let build = this.layerBuilds.get(hash);
    if (!build) {
      const droplet = `sha256:${hash}`;
      if (!this.store.blobs.has(droplet)) return Promise.reject(new RegistryError(`droplet ${hash} is not in the blob store`));
      build = buildDropletLayer(this.blobs, this.store.blobs.path(droplet))
        .then((layer) => {
          this.store.db
            .query(
              `INSERT INTO registry_droplet_layers (droplet_hash, digest, diff_id, size, start_command, created_at) VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (droplet_hash) DO UPDATE SET digest = excluded.digest, diff_id = excluded.diff_id, size = excluded.size, start_command = excluded.start_command`,
            )
            .run(hash, layer.digest, layer.diffId, layer.size, layer.startCommand, row?.created_at ?? new Date(this.now()).toISOString());
          return layer;
        })
        .finally(() => this.layerBuilds.delete(hash));
      this.layerBuilds.set(hash, build);
    }
    return build;
  }

  /**
   * Composes `<repo>:<dropletHash>`: the stack's stored layers plus the
   * droplet layer (built and gzipped once per droplet, then cached).
   */
  async composeDropletImage(req: ComposeRequest): Promise<ComposedImage> {
    if (!/^[a-f0-9]{64}$/.test(req.dropletHash)) throw new RegistryError(`droplet hash must be 64 hex characters`);
    try {
      assertRepositoryName(req.repo);
    } catch {
      throw new RegistryError(`invalid repository name ${JSON.stringify(req.repo)}`);
    }
    const stack = loadStack(this.store.db, req.stack);
    if (!stack) throw new RegistryError(`stack ${req.stack} not found; import it with \`eirini stack import ${req.stack} FILE\``);
    const layer = await this.dropletLayer(req.dropletHash);
    const created = (this.store.db.query("SELECT created_at FROM registry_droplet_layers WHERE droplet_hash = ?").get(req.dropletHash) as { created_at: string } | null)?.created_at ?? new Date(this.now()).toISOString();
    const startCommand = req.startCommand || layer.startCommand;
    const { config, manifest } = composeImage({ stack, droplet: layer, dropletHash: req.dropletHash, startCommand, launcher: this.launcher, created });
    await this.blobs.putBytes(config);
    const { digest } = this.putManifest(req.repo, manifest, "application/vnd.oci.image.manifest.v1+json", req.dropletHash);
    const db = this.store.db;
    const previous = db.query("SELECT manifest_digest FROM registry_droplet_images WHERE repository = ? AND droplet_hash = ?").get(req.repo, req.dropletHash) as { manifest_digest: string } | null;
    db.query(
      `INSERT INTO registry_droplet_images (repository, droplet_hash, stack, start_command, manifest_digest, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (repository, droplet_hash) DO UPDATE SET stack = excluded.stack, start_command = excluded.start_command, manifest_digest = excluded.manifest_digest, updated_at = excluded.updated_at`,
    ).run(req.repo, req.dropletHash, req.stack, req.startCommand ?? "", digest, new Date(this.now()).toISOString());
    if (previous && previous.manifest_digest !== digest && !db.query("SELECT 1 FROM registry_tags WHERE repository = ? AND digest = ?").get(req.repo, previous.manifest_digest)) {
      // The old composition is untagged now; dropping it lets GC reclaim the old stack layers.
      this.meta.deleteManifest(req.repo, previous.manifest_digest);
    }
    this.logger.info("droplet image composed", { repository: req.repo, droplet_hash: req.dropletHash, stack: req.stack, digest });
    return { reference: `${req.repo}:${req.dropletHash}`, repository: req.repo, tag: req.dropletHash, digest };
  }

  gc(): GcResult {
    const result = collectGarbage({
      db: this.store.db,
      meta: this.meta,
      blobs: this.blobs,
      uploads: this.uploads,
      dropletExists: (hash) => existsSync(this.store.blobs.path(`sha256:${hash}`)),
      graceMs: this.config.gcGraceSec * 1000,
      uploadExpiryMs: this.config.uploadExpirySec * 1000,
      now: this.now,
    });
    this.meta.invalidate();
    return result;
  }
}
