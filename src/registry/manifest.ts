import { z } from "zod";
import { manifestInvalid } from "./errors.ts";
import { IMAGE_MANIFEST_TYPES, INDEX_TYPES, MediaType } from "./media-types.ts";

const Digest = z.string().regex(/^sha256:[a-f0-9]{64}$/, "digest must be sha256:<64 hex>");

const Descriptor = z.object({
  mediaType: z.string().min(1),
  digest: Digest,
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  artifactType: z.string().optional(),
  platform: z.record(z.string(), z.unknown()).optional(),
});
export type Descriptor = z.infer<typeof Descriptor>;

const ImageManifest = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: Descriptor,
  layers: z.array(Descriptor),
  subject: Descriptor.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const ImageIndex = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  manifests: z.array(Descriptor),
  subject: Descriptor.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** What the registry records about a manifest: its type and what it points at. */
export interface ParsedManifest {
  mediaType: string;
  kind: "image" | "index";
  /** Blobs (config + layers) an image manifest needs present. */
  blobs: string[];
  /** Child manifests an index needs present in the same repository. */
  manifests: string[];
  /** The size each descriptor declares, by digest: checked against what is stored. */
  sizes: Map<string, number>;
  subject?: string;
  artifactType?: string;
}

// Foreign (non-distributable) layers live elsewhere; the registry does not require them.
const FOREIGN = /nondistributable|foreign/;

/**
 * Validates a manifest body against the Content-Type it was sent with and lists
 * what it references. Throws MANIFEST_INVALID with a reason.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | null): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw manifestInvalid("manifest is not valid JSON");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw manifestInvalid("manifest must be a JSON object");
  const declared = (json as { mediaType?: unknown }).mediaType;
  const sent = contentType?.split(";")[0]!.trim() || undefined;
  if (declared !== undefined && typeof declared !== "string") throw manifestInvalid("mediaType must be a string");
  if (sent === MediaType.dockerSchema1 || sent === MediaType.dockerSchema1Signed || (json as { schemaVersion?: unknown }).schemaVersion === 1) {
    throw manifestInvalid("Docker schema 1 manifests are not supported");
  }
  if (declared && sent && declared !== sent) throw manifestInvalid(`Content-Type ${sent} does not match the manifest's mediaType ${declared}`);
  // Only manifest media types are ever recorded (and later served as Content-Type): a manifest declaring
  // text/html would otherwise be served as a page on the UI's origin. An untyped body is typed by its shape.
  const known = (t: string | undefined) => t !== undefined && (IMAGE_MANIFEST_TYPES.has(t) || INDEX_TYPES.has(t));
  if (declared !== undefined && !known(declared)) throw manifestInvalid(`unsupported manifest media type ${declared}`);
  const mediaType = declared ?? (known(sent) ? sent! : "manifests" in json ? MediaType.ociIndex : MediaType.ociManifest);
  const sizesOf = (ds: { digest: string; size: number }[]) => {
    const sizes = new Map<string, number>();
    for (const d of ds) {
      if (sizes.has(d.digest) && sizes.get(d.digest) !== d.size) throw manifestInvalid(`descriptors of ${d.digest} declare different sizes`);
      sizes.set(d.digest, d.size);
    }
    return sizes;
  };

  if (IMAGE_MANIFEST_TYPES.has(mediaType)) {
    const r = ImageManifest.safeParse(json);
    if (!r.success) throw manifestInvalid("invalid image manifest", { issues: r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`) });
    const m = r.data;
    const blobs = [m.config.digest, ...m.layers.filter((l) => !(FOREIGN.test(l.mediaType) && l.urls?.length)).map((l) => l.digest)];
    const local = [m.config, ...m.layers.filter((l) => !(FOREIGN.test(l.mediaType) && l.urls?.length))];
    return { mediaType, kind: "image", blobs: [...new Set(blobs)], manifests: [], sizes: sizesOf(local), subject: m.subject?.digest, artifactType: m.artifactType ?? m.config.mediaType };
  }
  if (INDEX_TYPES.has(mediaType)) {
    const r = ImageIndex.safeParse(json);
    if (!r.success) throw manifestInvalid("invalid image index", { issues: r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`) });
    const m = r.data;
    return { mediaType, kind: "index", blobs: [], manifests: [...new Set(m.manifests.map((d) => d.digest))], sizes: sizesOf(m.manifests), subject: m.subject?.digest, artifactType: m.artifactType };
  }
  throw manifestInvalid(`unsupported manifest media type ${mediaType}`);
}
