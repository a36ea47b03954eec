import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { unzipSync, zipSync } from "fflate";
import { cleanupTempDirs } from "../support/tmp.ts";
import { makeHarness, makeZip, uploadForm, type Harness } from "./harness.ts";

/** Issue 13, items 2, 3 and 7: what a streaming, verifying package check refuses (and keeps). */
let h: Harness;
let appGuid: string;
const LIMIT = 8 * 1024 * 1024;

beforeAll(async () => {
  h = await makeHarness({ staging: { maxPackageBytes: LIMIT } });
  appGuid = (await h.json("POST", "/v3/apps", { name: "uploads", relationships: { space: { data: { guid: h.spaceGuid() } } } }, 201)).guid;
});
afterAll(() => {
  h.close();
  cleanupTempDirs();
});

const blobCount = () => {
  const root = join(h.store.blobs.root, "sha256");
  return readdirSync(root).reduce((n, d) => n + readdirSync(join(root, d)).length, 0);
};
const newPackage = async () => (await h.json("POST", "/v3/packages", { type: "bits", relationships: { app: { data: { guid: appGuid } } } }, 201)).guid as string;
const upload = async (zip: Uint8Array) => h.req("POST", `/v3/packages/${await newPackage()}/upload`, { raw: uploadForm([], zip) });

async function refused(zip: Uint8Array, detail: RegExp, status = 422) {
  const before = blobCount();
  const res = await upload(zip);
  const text = await res.text();
  expect(`${res.status} ${text}`).toStartWith(`${status} `);
  expect(JSON.parse(text).errors[0].detail).toMatch(detail);
  expect(blobCount()).toBe(before);
}

/** A zip whose only entry's stored bytes are changed after the CRC was computed. */
function corrupted(): Uint8Array {
  const data = new TextEncoder().encode("hello, this content is checked");
  const zip = Buffer.from(zipSync({ "a.txt": [data, { level: 0 }] }));
  const at = zip.indexOf(Buffer.from("checked"));
  zip[at] = "C".charCodeAt(0);
  return zip;
}

describe("package upload checks", () => {
  test("a corrupted entry (CRC mismatch) is refused, not repacked with a fresh CRC", () => refused(corrupted(), /CRC/));

  test("an entry that inflates more than 200 times is refused (zip bomb)", () => refused(makeZip({ "zeros.bin": { data: new Uint8Array(4 * 1024 * 1024) } }), /inflates more than 200 times/));

  test("an entry that inflates past its declared size is refused", async () => {
    const zip = Buffer.from(makeZip({ "a.bin": { data: crypto.getRandomValues(new Uint8Array(5000)) } }));
    // Declare 100 bytes in both headers for 5000.
    for (let i = 0; i + 4 <= zip.length; i++) {
      if (zip.readUInt32LE(i) === 0x02014b50) zip.writeUInt32LE(100, i + 24);
      if (zip.readUInt32LE(i) === 0x04034b50) zip.writeUInt32LE(100, i + 22);
    }
    await refused(zip, /more than the 100 bytes|larger than it declares|declares 100/);
  });

  test("a total uncompressed size past the package limit is 413", () =>
    refused(makeZip({ "a.bin": { data: crypto.getRandomValues(new Uint8Array(LIMIT / 2 + 1)) }, "b.bin": { data: crypto.getRandomValues(new Uint8Array(LIMIT / 2 + 1)) } }), /larger than/, 413));

  test("a file below a symlink (s -> sub plus s/f.txt) is refused at upload", () =>
    refused(makeZip({ "sub/": { data: "", mode: 0o040755 }, s: { data: "sub", mode: 0o120777 }, "s/f.txt": { data: "x" } }), /below the symlink 's'/));

  test("a symlink chain (s -> ., l1 -> s/.., l2 -> l1/..) is refused", () =>
    refused(makeZip({ s: { data: ".", mode: 0o120777 }, l1: { data: "s/..", mode: 0o120777 }, l2: { data: "l1/..", mode: 0o120777 } }), /points outside/));

  test("a directory written with regular-file bits (the cf CLI's Go zip) stays a directory; contents and modes survive", async () => {
    const zip = makeZip({ "sub/": { data: "", mode: 0o100644 }, "sub/run.sh": { data: "#!/bin/sh\necho hi\n", mode: 0o100755 }, "inside": { data: "sub/run.sh", mode: 0o120777 } });
    const res = await upload(zip);
    expect(res.status).toBe(200);
    const pkg = (await res.json()) as { guid: string };
    const stored = Buffer.from(await (await h.req("GET", `/v3/packages/${pkg.guid}/download`)).arrayBuffer());
    const files = unzipSync(stored);
    expect(Object.keys(files).sort()).toEqual(["inside", "sub/", "sub/run.sh"]);
    expect(new TextDecoder().decode(files["sub/run.sh"])).toBe("#!/bin/sh\necho hi\n");
    // Modes: read the central directory's external attributes.
    const modes: Record<string, number> = {};
    for (let i = 0; i + 4 <= stored.length; i++) {
      if (stored.readUInt32LE(i) !== 0x02014b50) continue;
      const name = stored.toString("utf8", i + 46, i + 46 + stored.readUInt16LE(i + 28));
      modes[name] = stored.readUInt32LE(i + 38) >>> 16;
    }
    expect(modes).toEqual({ "sub/": 0o040644, "sub/run.sh": 0o100755, inside: 0o120777 });
  });

  test("a chunked upload (no Content-Length) past the limit is refused as it arrives", async () => {
    const pkg = await newPackage();
    const boundary = "----eirini-test";
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (sent === 0) ctl.enqueue(new TextEncoder().encode(`--${boundary}\r\nContent-Disposition: form-data; name="bits"; filename="a.zip"\r\nContent-Type: application/zip\r\n\r\n`));
        if (sent > 4 * LIMIT) return ctl.close();
        sent += 1 << 20;
        ctl.enqueue(new Uint8Array(1 << 20));
      },
    });
    const res = await h.req("POST", `/v3/packages/${pkg}/upload`, { raw: body, headers: { "content-type": `multipart/form-data; boundary=${boundary}` } });
    expect(res.status).toBe(413);
    expect(sent).toBeLessThan(4 * LIMIT);
  });
});
