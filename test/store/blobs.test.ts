import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { BlobStore, DigestMismatchError, InvalidDigestError, SizeLimitError } from "../../src/store/index.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

afterAll(cleanupTempDirs);

const sha = (s: string) => `sha256:${new Bun.CryptoHasher("sha256").update(s).digest("hex")}`;

async function* chunks(...parts: string[]) {
  for (const p of parts) yield new TextEncoder().encode(p);
}

describe("BlobStore", () => {
  test("streams content in under its digest and reads it back, also by range", async () => {
    const blobs = new BlobStore(join(tempDir(), "blobs"));
    const { digest, size } = await blobs.put(chunks("hello ", "world"));
    expect(digest).toBe(sha("hello world"));
    expect(size).toBe(11);
    expect(blobs.has(digest)).toBe(true);
    expect(blobs.size(digest)).toBe(11);
    expect(new TextDecoder().decode(await blobs.bytes(digest))).toBe("hello world");
    expect(await new Response(blobs.stream(digest, 6, 11)).text()).toBe("world");
    expect([...blobs.list()]).toEqual([digest]);
    expect(blobs.delete(digest)).toBe(true);
    expect(blobs.delete(digest)).toBe(false);
    expect(blobs.has(digest)).toBe(false);
  });

  test("putting content already stored keeps one copy and leaves no temp files", async () => {
    const blobs = new BlobStore(join(tempDir(), "blobs"));
    const a = await blobs.putBytes("same bytes");
    const b = await blobs.putBytes("same bytes");
    expect(b).toEqual(a);
    expect([...blobs.list()]).toEqual([a.digest]);
    expect(readdirSync(blobs.tmpDir)).toEqual([]);
  });

  test("a wrong expected digest stores nothing", async () => {
    const blobs = new BlobStore(join(tempDir(), "blobs"));
    const err = await blobs.put(chunks("abc"), { expectedDigest: sha("xyz") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect([...blobs.list()]).toEqual([]);
    expect(readdirSync(blobs.tmpDir)).toEqual([]);
  });

  test("a stream past the size limit stores nothing", async () => {
    const blobs = new BlobStore(join(tempDir(), "blobs"));
    const err = await blobs.put(chunks("12345", "67890"), { maxBytes: 7 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SizeLimitError);
    expect(readdirSync(blobs.tmpDir)).toEqual([]);
  });

  test("a stream that fails midway stores nothing", async () => {
    const blobs = new BlobStore(join(tempDir(), "blobs"));
    async function* broken() {
      yield new Uint8Array([1, 2, 3]);
      throw new Error("connection reset");
    }
    await expect(blobs.put(broken())).rejects.toThrow("connection reset");
    expect([...blobs.list()]).toEqual([]);
    expect(readdirSync(blobs.tmpDir)).toEqual([]);
  });

  test("digests are validated; other algorithms are unsupported", () => {
    const blobs = new BlobStore(join(tempDir(), "blobs"));
    expect(() => blobs.path("sha256:../../etc")).toThrow(InvalidDigestError);
    try {
      blobs.path("sha512:" + "a".repeat(128));
    } catch (e) {
      expect((e as InvalidDigestError).unsupported).toBe(true);
    }
    expect(blobs.has("garbage")).toBe(false);
    expect(blobs.size("garbage")).toBeNull();
  });

  test("ingestFile adopts a finished temp file after checking it", async () => {
    const blobs = new BlobStore(join(tempDir(), "blobs"));
    const tmp = blobs.tempPath("upload");
    await Bun.write(tmp, "chunked upload");
    await expect(blobs.ingestFile(tmp, sha("other"))).rejects.toBeInstanceOf(DigestMismatchError);
    const tmp2 = blobs.tempPath("upload");
    await Bun.write(tmp2, "chunked upload");
    expect(await blobs.ingestFile(tmp2, sha("chunked upload"))).toEqual({ digest: sha("chunked upload"), size: 14 });
  });
});
