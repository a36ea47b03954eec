import { closeSync, createWriteStream, fsyncSync, openSync, rmSync } from "node:fs";
import { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip, createGunzip } from "node:zlib";
import tar from "tar-stream";
import type { BlobStore } from "../store/index.ts";
import { RegistryError } from "./errors.ts";
import { MediaType } from "./media-types.ts";
import { checkLayerEntry } from "./tar-paths.ts";

export interface StoredLayer {
  digest: string;
  diffId: string;
  size: number;
  mediaType: string;
}

/** A pass-through that hashes (and counts) what flows by. */
export function hashing(): { stream: Transform; digest: () => string; size: () => number } {
  const h = new Bun.CryptoHasher("sha256");
  let n = 0;
  let done: string | undefined;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      n += chunk.byteLength;
      cb(null, chunk);
    },
  });
  return { stream, digest: () => (done ??= `sha256:${h.digest("hex")}`), size: () => n };
}

/** A sink that parses a tar stream and rejects unsafe or malformed entries. */
function tarChecker(): Writable {
  const extract = tar.extract();
  extract.on("entry", (header, body, next) => {
    // The entry stream dies with the extractor when we refuse an entry; its error is reported through the extractor.
    body.on("error", () => {});
    try {
      checkLayerEntry(header);
    } catch (err) {
      extract.destroy(err as Error);
      return;
    }
    body.on("end", () => next());
    body.resume();
  });
  return extract as unknown as Writable;
}

/** Sends each chunk to a side sink too (waiting on its backpressure), failing if the side fails. */
function tee(side: Writable, sideDone?: Promise<unknown>): Transform {
  let failure: Error | undefined;
  const waiters = new Set<() => void>();
  const fail = (err: Error) => {
    failure ??= err;
    for (const w of waiters) w();
  };
  side.on("error", fail);
  sideDone?.catch(fail);
  const wait = (event: string) =>
    new Promise<void>((resolve) => {
      const done = () => {
        waiters.delete(done);
        resolve();
      };
      waiters.add(done);
      side.once(event, done);
    });
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (failure) return cb(failure);
      if (side.write(chunk)) return cb(null, chunk);
      void wait("drain").then(() => cb(failure ?? null, chunk));
    },
    flush(cb) {
      if (failure) return cb(failure);
      side.end();
      void (sideDone ?? wait("finish")).then(
        () => cb(failure ?? null),
        (err: Error) => cb(err),
      );
    },
  });
}

function fileSink(path: string): Writable {
  return createWriteStream(path, { mode: 0o644, highWaterMark: 1 << 20 });
}

function commit(blobs: BlobStore, tmp: string, digest: string, size: number, expected?: string) {
  const fd = openSync(tmp, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return blobs.commitTemp(tmp, digest, size, expected);
}

export type LayerSource = Readable | AsyncIterable<Uint8Array>;

/**
 * Stores one layer in `blobs` after checking every tar entry: a plain tar is
 * compressed once (`gzip: true`) or kept as-is, a gzipped one is stored byte
 * for byte. Returns digest (of what is stored) and diff ID (of the tar).
 * Nothing is left behind when the layer is refused.
 */
export async function storeLayer(
  blobs: BlobStore,
  source: LayerSource,
  opts: { input: "gzip" | "tar"; compress?: boolean; expectedDigest?: string },
): Promise<StoredLayer> {
  const tmp = blobs.tempPath("layer");
  const src = source instanceof Readable ? source : Readable.from(source);
  try {
    if (opts.input === "gzip") {
      const stored = hashing();
      const diff = hashing();
      const gunzip = createGunzip();
      const checked = pipeline(gunzip, diff.stream, tarChecker());
      await pipeline(src, stored.stream, tee(gunzip, checked), fileSink(tmp));
      const r = commit(blobs, tmp, stored.digest(), stored.size(), opts.expectedDigest);
      return { digest: r.digest, diffId: diff.digest(), size: r.size, mediaType: MediaType.ociLayerGzip };
    }
    const diff = hashing();
    if (opts.compress) {
      const stored = hashing();
      await pipeline(src, diff.stream, tee(tarChecker()), createGzip({ level: 6 }), stored.stream, fileSink(tmp));
      const r = commit(blobs, tmp, stored.digest(), stored.size(), opts.expectedDigest);
      return { digest: r.digest, diffId: diff.digest(), size: r.size, mediaType: MediaType.ociLayerGzip };
    }
    await pipeline(src, diff.stream, tee(tarChecker()), fileSink(tmp));
    const r = commit(blobs, tmp, diff.digest(), diff.size(), opts.expectedDigest);
    return { digest: r.digest, diffId: r.digest, size: r.size, mediaType: MediaType.ociLayerTar };
  } catch (err) {
    rmSync(tmp, { force: true });
    if (err instanceof RegistryError) throw err;
    const msg = (err as Error).message;
    if ((err as Error).name === "DigestMismatchError") throw err;
    throw new RegistryError(`layer is not a valid ${opts.input === "gzip" ? "gzipped " : ""}tar archive: ${msg}`, { cause: err });
  }
}
