import { Busboy } from "@fastify/busboy";
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from "node:fs";
import { Readable } from "node:stream";
import { messageParseError, tooLarge, unprocessable } from "./errors.ts";

/**
 * A package upload (`bits` file + `resources` field, ccv3/package.go)
 * received as a stream: the bits go straight to a temp file, never into
 * memory, counted against the package limit as they arrive (a chunked upload
 * is bounded like a declared one). @fastify/busboy parses the multipart
 * framing: a well-kept streaming parser (the fastify project's busboy).
 */
export interface ReceivedUpload {
  /** Temp file with the zip, or null when only resources were sent. The caller removes it. */
  bitsPath: string | null;
  bitsSize: number;
  /** The `resources` JSON text, or null. */
  resources: string | null;
}

const RESOURCES_MAX = 16 * 1024 * 1024;

export async function receiveUpload(req: Request, tempPath: () => string, maxBits: number): Promise<ReceivedUpload> {
  const type = req.headers.get("content-type") ?? "";
  if (!/^multipart\/form-data/i.test(type)) throw messageParseError("the upload is not multipart/form-data");
  if (!req.body) throw unprocessable("Upload must include either resources or bits");
  let bb;
  try {
    bb = Busboy({ headers: { "content-type": type }, limits: { fileSize: maxBits, fieldSize: RESOURCES_MAX, files: 2, fields: 4, parts: 6 } });
  } catch (err) {
    throw messageParseError(`the upload is not multipart/form-data (${(err as Error).message})`);
  }
  const out: ReceivedUpload = { bitsPath: null, bitsSize: 0, resources: null };
  let failure: Error | null = null;
  // The first failure wins and stops reading the body at once (nothing past a limit is consumed).
  let stop: (err: Error) => void = () => {};
  const fail = (err: Error) => {
    failure ??= err;
    stop(failure);
  };
  const files: Promise<void>[] = [];
  const openFds = new Set<number>();

  bb.on("field", (name, value, _nameTrunc, valueTrunc) => {
    if (name !== "resources") return;
    if (valueTrunc) fail(tooLarge(`resources may not be larger than ${RESOURCES_MAX} bytes`));
    out.resources = value;
  });
  bb.on("file", (name, stream) => {
    if (name === "resources") {
      // Some clients send the resources list as a file part.
      const chunks: Buffer[] = [];
      let n = 0;
      stream.on("data", (c: Buffer) => {
        n += c.length;
        if (n > RESOURCES_MAX) fail(tooLarge(`resources may not be larger than ${RESOURCES_MAX} bytes`));
        else chunks.push(c);
      });
      files.push(new Promise((r) => stream.on("end", () => r(void (out.resources = Buffer.concat(chunks).toString("utf8"))))));
      return;
    }
    if (name !== "bits" || out.bitsPath !== null) {
      stream.resume();
      return;
    }
    const path = tempPath();
    out.bitsPath = path;
    const fd = openSync(path, "wx", 0o600);
    openFds.add(fd);
    stream.on("limit", () => fail(tooLarge(`Package may not be larger than ${maxBits} bytes`)));
    files.push(
      new Promise<void>((resolve) => {
        stream.on("data", (c: Buffer) => {
          if (failure) return;
          try {
            let off = 0;
            while (off < c.length) off += writeSync(fd, c, off, c.length - off);
            out.bitsSize += c.length;
          } catch (err) {
            fail(err as Error);
          }
        });
        stream.on("end", () => {
          try {
            fsyncSync(fd);
          } finally {
            openFds.delete(fd);
            closeSync(fd);
          }
          resolve();
        });
        stream.on("error", (err: Error) => {
          fail(err);
          resolve();
        });
      }),
    );
  });

  try {
    await new Promise<void>((resolve, reject) => {
      const src = Readable.fromWeb(req.body as unknown as import("node:stream/web").ReadableStream<Uint8Array>);
      stop = (err) => {
        src.unpipe(bb);
        src.destroy();
        reject(err);
      };
      if (failure) return stop(failure);
      bb.on("finish", resolve);
      bb.on("error", (err: unknown) => reject(failure ?? messageParseError(`the upload is not valid multipart/form-data (${(err as Error).message})`)));
      src.on("error", (err) => reject(failure ?? (err.message.includes("larger than") ? tooLarge(`Package may not be larger than ${maxBits} bytes`) : messageParseError(`the upload was cut off (${err.message})`))));
      src.pipe(bb);
    });
    await Promise.all(files);
    if (failure) throw failure;
  } catch (err) {
    for (const fd of openFds) closeSync(fd);
    if (out.bitsPath) rmSync(out.bitsPath, { force: true });
    throw err;
  }
  return out;
}
