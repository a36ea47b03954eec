import { createReadStream, rmSync } from "node:fs";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import tar from "tar-stream";
import YAML from "yaml";
import { closeSync, createWriteStream, fsyncSync, openSync } from "node:fs";
import type { BlobStore } from "../store/index.ts";
import { RegistryError } from "./errors.ts";
import { hashing, type StoredLayer } from "./layer-store.ts";
import { MediaType } from "./media-types.ts";
import { checkLayerEntry, safeEntryName } from "./tar-paths.ts";

/** The vcap user every droplet runs as (Cloud Foundry's convention). */
export const VCAP_UID = 2000;
export const VCAP_HOME = "home/vcap";
const STANDARD_DIRS = ["app", "deps", "profile.d", "tmp", "logs"];

export interface DropletLayer extends StoredLayer {
  /** `start_command` from the droplet's staging_info.yml, "" when absent. */
  startCommand: string;
}

function startCommandOf(stagingInfo: string): string {
  try {
    const doc = YAML.parse(stagingInfo) as { start_command?: unknown } | null;
    return typeof doc?.start_command === "string" ? doc.start_command : "";
  } catch {
    return "";
  }
}

/**
 * Re-packs a droplet (gzipped tar in CF layout: app/, deps/, profile.d/,
 * staging_info.yml, ...) as one image layer under `home/vcap/`, owned by
 * vcap (2000:2000), gzipped once, and stores it in `blobs`.
 */
export async function buildDropletLayer(blobs: BlobStore, dropletPath: string): Promise<DropletLayer> {
  const tmp = blobs.tempPath("droplet-layer");
  const pack = tar.pack();
  const diff = hashing();
  const stored = hashing();
  const out = createWriteStream(tmp, { mode: 0o644, highWaterMark: 1 << 20 });
  const written = pipeline(pack, diff.stream, createGzip({ level: 6 }), stored.stream, out);
  written.catch(() => {});
  let stagingInfo = "";
  const vcap = { uid: VCAP_UID, gid: VCAP_UID, uname: "vcap", gname: "vcap" };
  const seen = new Set<string>();
  const addEntry = (header: Partial<tar.Header> & { name: string }, body?: NodeJS.ReadableStream | AsyncIterable<Buffer>) =>
    new Promise<void>((resolve, reject) => {
      const entry = pack.entry(header as tar.Header, (err) => (err ? reject(err) : resolve()));
      if (body) pipeline(body as AsyncIterable<Buffer>, entry as unknown as NodeJS.WritableStream).catch(reject);
    });
  try {
    const mtime = new Date(0);
    await addEntry({ name: "home/", type: "directory", mode: 0o755, uid: 0, gid: 0, uname: "root", gname: "root", mtime });
    await addEntry({ name: `${VCAP_HOME}/`, type: "directory", mode: 0o755, mtime, ...vcap });
    const extract = tar.extract();
    const reading = pipeline(createReadStream(dropletPath, { highWaterMark: 1 << 20 }), createGunzip(), extract);
    reading.catch(() => {});
    for await (const entry of extract) {
      const h = entry.header;
      checkLayerEntry(h);
      const rel = safeEntryName(h.name);
      if (rel === "") {
        entry.resume();
        continue;
      }
      const type = h.type ?? "file";
      const name = `${VCAP_HOME}/${rel}${type === "directory" ? "/" : ""}`;
      seen.add(rel);
      const header: Partial<tar.Header> & { name: string } = {
        name,
        type,
        mode: h.mode ?? (type === "directory" ? 0o755 : 0o644),
        mtime: h.mtime ?? mtime,
        size: h.size ?? 0,
        linkname: type === "link" ? `${VCAP_HOME}/${safeEntryName(h.linkname ?? "")}` : (h.linkname ?? undefined),
        ...vcap,
      };
      if (type === "file" || type === "contiguous-file") {
        if (rel === "staging_info.yml" && (h.size ?? 0) < 1 << 20) {
          const chunks: Buffer[] = [];
          for await (const c of entry) chunks.push(c as Buffer);
          const body = Buffer.concat(chunks);
          stagingInfo = body.toString("utf8");
          await addEntry({ ...header, type: "file" }, (async function* () { yield body; })());
        } else {
          await addEntry({ ...header, type: "file" }, entry as unknown as AsyncIterable<Buffer>);
        }
      } else {
        entry.resume();
        await addEntry(header);
      }
    }
    await reading;
    for (const dir of STANDARD_DIRS) {
      if (!seen.has(dir)) await addEntry({ name: `${VCAP_HOME}/${dir}/`, type: "directory", mode: 0o755, mtime, ...vcap });
    }
    pack.finalize();
    await written;
    const fd = openSync(tmp, "r+");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const r = blobs.commitTemp(tmp, stored.digest(), stored.size());
    return { digest: r.digest, diffId: diff.digest(), size: r.size, mediaType: MediaType.ociLayerGzip, startCommand: startCommandOf(stagingInfo) };
  } catch (err) {
    pack.destroy();
    rmSync(tmp, { force: true });
    if (err instanceof RegistryError) throw err;
    throw new RegistryError(`droplet is not a valid gzipped tar: ${(err as Error).message}`, { cause: err });
  }
}
