import { createReadStream, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { createWriteStream } from "node:fs";
import tar from "tar-stream";
import { z } from "zod";
import { RegistryError } from "./errors.ts";
import { GZIP_LAYER_TYPES, IMAGE_MANIFEST_TYPES, INDEX_TYPES, PLAIN_LAYER_TYPES } from "./media-types.ts";
import { safeEntryName } from "./tar-paths.ts";

const Digest = z.string().regex(/^sha256:[a-f0-9]{64}$/);
const Desc = z.object({ mediaType: z.string(), digest: Digest, size: z.number().int().nonnegative(), platform: z.object({ os: z.string(), architecture: z.string() }).partial().optional() });
const Index = z.object({ manifests: z.array(Desc).min(1) });
const Manifest = z.object({ config: Desc, layers: z.array(Desc) });
const Config = z.object({
  os: z.string().default("linux"),
  architecture: z.string().default("amd64"),
  config: z.record(z.string(), z.unknown()).nullish(),
  rootfs: z.object({ diff_ids: z.array(Digest) }),
});

export interface LayoutImage {
  os: string;
  architecture: string;
  baseConfig: Record<string, unknown>;
  layers: { path: string; digest: string; mediaType: string; gzip: boolean; diffId: string }[];
}

/** Whether a tar's first real entries look like an OCI image layout. */
export async function looksLikeOciLayout(file: string, gzip: boolean): Promise<boolean> {
  const extract = tar.extract();
  const src = createReadStream(file);
  const reading = (gzip ? pipeline(src, createGunzip(), extract) : pipeline(src, extract)).catch(() => {});
  let answer = false;
  for await (const entry of extract) {
    const name = entry.header.name.replace(/^\.\//, "");
    entry.resume();
    if (name === "" || name === "blobs/" || name === "blobs/sha256/" || name === "blobs") continue;
    answer = name === "oci-layout" || name === "index.json" || name.startsWith("blobs/sha256/");
    break;
  }
  src.destroy();
  extract.destroy();
  await reading;
  return answer;
}

/** Unpacks an OCI layout tarball into `dir`, taking only `oci-layout`, `index.json` and `blobs/sha256/<hex>`. */
export async function unpackLayout(file: string, gzip: boolean, dir: string): Promise<void> {
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  const extract = tar.extract();
  const src = createReadStream(file, { highWaterMark: 1 << 20 });
  const reading = gzip ? pipeline(src, createGunzip(), extract) : pipeline(src, extract);
  reading.catch(() => {});
  for await (const entry of extract) {
    const name = safeEntryName(entry.header.name);
    const type = entry.header.type ?? "file";
    const wanted = type === "file" && (name === "oci-layout" || name === "index.json" || /^blobs\/sha256\/[a-f0-9]{64}$/.test(name));
    if (!wanted) {
      entry.resume();
      continue;
    }
    await pipeline(entry, createWriteStream(join(dir, name)));
  }
  await reading;
}

function readJson(dir: string, rel: string): unknown {
  try {
    return JSON.parse(readFileSync(join(dir, rel), "utf8"));
  } catch (err) {
    throw new RegistryError(`OCI layout: ${rel} is missing or not JSON`, { cause: err });
  }
}

const blobPath = (digest: string) => `blobs/sha256/${digest.slice(7)}`;

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new RegistryError(`OCI layout: invalid ${what}: ${r.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`);
  return r.data;
}

/** Resolves the layout's image (the first manifest, or the one for `arch` in an index). */
export function readLayoutImage(dir: string, arch: string): LayoutImage {
  const index = parse(Index, readJson(dir, "index.json"), "index.json");
  let desc = index.manifests[0]!;
  for (let depth = 0; INDEX_TYPES.has(desc.mediaType); depth++) {
    if (depth > 4) throw new RegistryError("OCI layout: indexes nest too deeply");
    const inner = parse(Index, readJson(dir, blobPath(desc.digest)), "nested index");
    desc = inner.manifests.find((m) => m.platform?.architecture === arch && (m.platform?.os ?? "linux") === "linux") ?? inner.manifests[0]!;
  }
  if (!IMAGE_MANIFEST_TYPES.has(desc.mediaType)) throw new RegistryError(`OCI layout: unsupported manifest type ${desc.mediaType}`);
  const manifest = parse(Manifest, readJson(dir, blobPath(desc.digest)), "image manifest");
  const config = parse(Config, readJson(dir, blobPath(manifest.config.digest)), "image config");
  if (config.rootfs.diff_ids.length !== manifest.layers.length) throw new RegistryError("OCI layout: config diff_ids do not match the manifest's layers");
  const layers = manifest.layers.map((l, i) => {
    const gzip = GZIP_LAYER_TYPES.has(l.mediaType);
    if (!gzip && !PLAIN_LAYER_TYPES.has(l.mediaType)) throw new RegistryError(`OCI layout: unsupported layer media type ${l.mediaType} (gzip or plain tar only)`);
    return { path: join(dir, blobPath(l.digest)), digest: l.digest, mediaType: l.mediaType, gzip, diffId: config.rootfs.diff_ids[i]! };
  });
  return { os: config.os, architecture: config.architecture, baseConfig: config.config ?? {}, layers };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
