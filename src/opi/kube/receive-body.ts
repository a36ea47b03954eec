import { closeSync, fsyncSync, openSync, rmSync, writeSync } from "node:fs";

export class BodyTooLargeError extends Error {
  override name = "BodyTooLargeError";
}

/**
 * Streams a request body into `path` (created fresh, mode 0600), hashing it
 * as it arrives, never holding more than one chunk, refusing more than
 * `maxBytes`; fsynced. The file is removed again on any failure.
 */
export async function receiveBody(body: ReadableStream<Uint8Array> | null, path: string, maxBytes: number): Promise<{ digest: string; size: number }> {
  const fd = openSync(path, "wx", 0o600);
  const hasher = new Bun.CryptoHasher("sha256");
  let size = 0;
  try {
    if (body) {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        size += chunk.length;
        if (size > maxBytes) throw new BodyTooLargeError(`upload is larger than ${maxBytes} bytes`);
        hasher.update(chunk);
        let off = 0;
        while (off < chunk.length) off += writeSync(fd, chunk, off);
      }
    }
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw err;
  }
  closeSync(fd);
  return { digest: `sha256:${hasher.digest("hex")}`, size };
}
