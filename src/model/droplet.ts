import { z } from "zod";

export const DropletState = z.enum(["AWAITING_UPLOAD", "PROCESSING_UPLOAD", "STAGED", "COPYING", "FAILED", "EXPIRED"]);

/** A droplet: the staged, runnable result of a build (gzipped tar in CF layout). */
export const Droplet = z.object({
  guid: z.string().min(1),
  app_guid: z.string().min(1),
  state: DropletState,
  /** sha256 hex of the droplet tarball; also the image tag in the registry. */
  hash: z.string().regex(/^[a-f0-9]{64}$/).nullable(),
  stack: z.string(),
  detected_buildpack: z.string().default(""),
  buildpack_name: z.string().default(""),
  start_command: z.string().default(""),
  process_types: z.record(z.string(), z.string()).default({}),
  /** Digest of the droplet blob in the blob store, `sha256:<hex>`. */
  blob_digest: z.string().nullable().default(null),
  created_at: z.string(),
});
export type Droplet = z.infer<typeof Droplet>;
