/**
 * Registry part: an OCI Distribution registry served under `/v2/` on the
 * appliance's port, plus the droplet image composer.
 *
 * Contract:
 * - HTTP: the distribution spec's pull and push endpoints, `_catalog`,
 *   `tags/list`, referrers, and the bearer token endpoint `/v2/token`.
 *   Anonymous access is off unless `registry.anonymousPull`. Credentials:
 *   store users by scope (`registry.push` read/write, `registry.pull` read;
 *   the `admin` user has both) and one pull-only account for image pull
 *   secrets (`pullCredentials()`).
 * - Blobs live in the registry's own content-addressed store under
 *   `<dataDir>/registry/`; manifests, tags, uploads, stacks and droplet
 *   images in SQLite (migration 0002).
 * - `composeDropletImage({dropletHash, stack, repo, startCommand})` makes
 *   `<repo>:<dropletHash>` from a droplet in the appliance blob store
 *   (`sha256:<dropletHash>`): the stack's stored layers plus one layer with
 *   the droplet under /home/vcap (uid/gid 2000), built once per droplet.
 *   Re-importing a stack re-bases every droplet image on it.
 * - `gc()` removes unreferenced blobs (after a grace period) and abandoned
 *   uploads; the part runs it every `registry.gcIntervalSec`.
 */
import type { AppliancePart, PartContext } from "../part/index.ts";
import { registryRoutes } from "./http.ts";
import { join } from "node:path";
import { BlobStore } from "../store/index.ts";
import { Registry } from "./registry.ts";
import { loadStack } from "./stacks.ts";

export { Registry, PULL_USERNAME, type RegistryOptions, type ComposeRequest, type ComposedImage, type StackImportResult } from "./registry.ts";
export { RegistryError, OciError } from "./errors.ts";
export type { GcResult } from "./gc.ts";
export type { StackSummary } from "./stacks.ts";
/** Imported stacks, read straight from SQLite (the CC lists them as CF stacks). */
export { listStacks } from "./stacks.ts";
export type { Credentials } from "./auth.ts";
export { shellLauncher, type Launcher } from "./launcher.ts";
export { handleRegistry, registryRoutes } from "./http.ts";

/**
 * The stored layer files of an imported stack, bottom first, or null when it
 * is not imported: what the local backend unpacks into its containers' rootfs.
 * Reads metadata only (no registry secrets are made).
 */
export function stackLayerFiles(store: Pick<PartContext["store"], "db" | "dataDir">, name: string): { digest: string; path: string }[] | null {
  const stack = loadStack(store.db, name);
  if (!stack) return null;
  const blobs = new BlobStore(join(store.dataDir, "registry"));
  return stack.layers.map((l) => ({ digest: l.digest, path: blobs.path(l.digest) }));
}

/** A registry over an open store, for the CLI and other parts' tests (no HTTP, no timers). */
export function createRegistry(ctx: Pick<PartContext, "store" | "config" | "tokenKey" | "logger">): Registry {
  return new Registry({ store: ctx.store, config: ctx.config.registry, tokenKey: ctx.tokenKey, logger: ctx.logger.child({ part: "registry" }) });
}

export interface RegistryPart extends AppliancePart {
  registry: Registry;
}

/** The registry as an appliance part: `/v2` routes and the periodic GC. */
export function createRegistryPart(ctx: PartContext): RegistryPart {
  const registry = createRegistry(ctx);
  let timer: ReturnType<typeof setInterval> | undefined;
  const intervalMs = ctx.config.registry.gcIntervalSec * 1000;
  const runGc = () => {
    try {
      const r = registry.gc();
      if (r.blobsRemoved || r.uploadsExpired || r.tempFilesRemoved) registry.logger.info("registry gc", { ...r });
    } catch (err) {
      registry.logger.warn("registry gc failed", { error: err });
    }
  };
  return {
    name: "registry",
    registry,
    routes: registryRoutes(registry),
    // Blob uploads stream to disk with their own check; manifests and token forms are read whole, so small.
    bodyLimits: [
      { method: "*", path: /^\/v2\/.+\/blobs\/uploads(\/[^/]*)?$/, maxBytes: ctx.config.registry.maxUploadBytes },
      { method: "PUT", path: /^\/v2\/.+\/manifests\/[^/]+$/, maxBytes: ctx.config.registry.maxManifestBytes },
      { method: "*", path: /^\/v2\/token$/, maxBytes: 64 * 1024 },
    ],
    async start() {
      if (intervalMs > 0) {
        timer = setInterval(runGc, intervalMs);
        timer.unref();
      }
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
