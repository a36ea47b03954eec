import { describe, expect, test } from "bun:test";
import { lstatSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UnsafeArchiveError } from "../../src/st8ge/index.ts";
import { untarFile } from "../../src/st8ge/unpack/untar.ts";
import { unzipFile } from "../../src/st8ge/unpack/unzip.ts";
import { listTree, rawTar, rawZip, tempDir } from "./support.ts";

const root = tempDir("st8ge-unpack-");
let n = 0;
const fresh = () => join(root, `f${++n}`);
const limits = { maxBytes: 128 * 1024 * 1024, maxEntries: 1000 };

describe("safe unpacking", () => {
  test("zip: modes, inside symlinks and a big entry (streamed) come out right", async () => {
    const big = new Uint8Array(40 * 1024 * 1024).fill(7);
    const file = fresh() + ".zip";
    writeFileSync(file, rawZip([{ name: "bin/run", data: "#!/bin/sh\n", mode: 0o100755 }, { name: "docs/", mode: 0o040755 }, { name: "link", data: "bin/run", mode: 0o120777 }, { name: "big.bin", data: big }]));
    const dest = fresh();
    const r = await unzipFile(file, dest, { limits });
    expect(r.entries).toBe(4);
    expect(statSync(join(dest, "bin/run")).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(dest, "link"))).toBe("bin/run");
    expect(lstatSync(join(dest, "docs")).isDirectory()).toBe(true);
    expect(statSync(join(dest, "big.bin")).size).toBe(big.length);
  });

  test("zip: a big entry that inflates past its declared size is refused while streaming", async () => {
    const file = fresh() + ".zip";
    const zip = Buffer.from(rawZip([{ name: "big.bin", data: new Uint8Array(40 * 1024 * 1024) }]));
    // Declare 33 MiB (above the in-memory threshold) for 40 MiB of zeros.
    const { lieAboutSize } = await import("./support.ts");
    writeFileSync(file, lieAboutSize(zip, 0, 33 * 1024 * 1024));
    await expect(unzipFile(file, fresh(), { limits })).rejects.toThrow(UnsafeArchiveError);
  });

  test("zip: entries sharing their compressed bytes (overlap bomb) are refused before writing", async () => {
    const zip = Buffer.from(rawZip([{ name: "a", data: "aaaa", level: 0 }, { name: "b", data: "bbbb", level: 0 }]));
    // Point the second central entry at the first entry's local header.
    let seen = 0;
    for (let i = 0; i + 4 <= zip.length; i++) if (zip.readUInt32LE(i) === 0x02014b50 && seen++ === 1) zip.writeUInt32LE(0, i + 42);
    const file = fresh() + ".zip";
    writeFileSync(file, zip);
    const dest = fresh();
    await expect(unzipFile(file, dest, { limits })).rejects.toThrow(/overlaps|local header/);
    expect(listTree(dest)).toEqual([]);
  });

  test("zip: too many entries are refused from the directory alone", async () => {
    const file = fresh() + ".zip";
    writeFileSync(file, rawZip(Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, data: "x" }))));
    await expect(unzipFile(file, fresh(), { limits: { maxBytes: 1e6, maxEntries: 10 } })).rejects.toThrow("more than the limit of 10");
  });

  test("tar (gzipped or plain): files, dirs, inside symlinks and hard links", async () => {
    const tar = await rawTar([
      { name: "app/", type: "directory" },
      { name: "app/start", data: "#!/bin/sh\n", mode: 0o755 },
      { name: "app/again", type: "link", linkname: "app/start" },
      { name: "app/current", type: "symlink", linkname: "start" },
    ]);
    for (const [label, bytes] of [["plain", tar], ["gzip", Bun.gzipSync(new Uint8Array(tar))]] as const) {
      const file = `${fresh()}.${label}`;
      writeFileSync(file, bytes);
      const dest = fresh();
      await untarFile(file, dest, limits);
      expect(statSync(join(dest, "app/start")).mode & 0o777).toBe(0o755);
      expect(readFileSync(join(dest, "app/again"), "utf8")).toBe("#!/bin/sh\n");
      expect(readlinkSync(join(dest, "app/current"))).toBe("start");
    }
  });

  test("tar: content past the size limit is refused as it arrives", async () => {
    const file = fresh() + ".tar";
    writeFileSync(file, await rawTar([{ name: "a", data: "x".repeat(2000) }]));
    await expect(untarFile(file, fresh(), { maxBytes: 1000, maxEntries: 10 })).rejects.toThrow("size limit");
  });
});
