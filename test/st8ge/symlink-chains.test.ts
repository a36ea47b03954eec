import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readInsideTree, UnsafeArchiveError } from "../../src/st8ge/index.ts";
import { copyDirSafely } from "../../src/st8ge/unpack/copy-dir.ts";
import { resolveLink } from "../../src/st8ge/unpack/link-resolve.ts";
import { untarFile } from "../../src/st8ge/unpack/untar.ts";
import { unzipFile } from "../../src/st8ge/unpack/unzip.ts";
import { rawTar, rawZip } from "./support.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";

afterAll(cleanupTempDirs);

/**
 * Issue 13, item 3: links that each look harmless but climb one directory
 * through the previous one. Judged against the OS: every case refused here
 * escapes when the links are made on a real disk.
 */
type Link = [name: string, target: string];
const CHAINS: Record<string, Link[]> = {
  "s -> ., l1 -> s/.., l2 -> l1/..": [["s", "."], ["l1", "s/.."], ["l2", "l1/.."]],
  "links listed before what they pass through": [["l2", "l1/.."], ["l1", "s/.."], ["s", "."]],
  "in a subdirectory": [["d/s", "."], ["d/l1", "s/.."], ["d/l2", "l1/.."], ["d/l3", "l2/.."]],
  "through a link to a subdirectory": [["d/x", "../d"], ["up", "d/x/../.."]],
  "a link to a link that escapes": [["s", "."], ["l1", "s/.."], ["plain", "l1"]],
  "a chain spelt with ./": [["s", "./."], ["l1", "./s/./.."]],
};
const limits = { maxBytes: 1024 * 1024, maxEntries: 100 };

/** What the OS says: does any link of the set, made on disk, lead outside `root`? */
function escapesOnDisk(links: Link[]): boolean {
  const base = tempDir("chain-os-");
  const root = join(base, "root");
  mkdirSync(root);
  for (const [name, target] of links) {
    mkdirSync(join(root, name, ".."), { recursive: true });
    symlinkSync(target, join(root, name));
  }
  const { realpathSync } = require("node:fs") as typeof import("node:fs");
  return links.some(([name]) => {
    try {
      const real = realpathSync(join(root, name));
      return real !== root && !real.startsWith(root + "/");
    } catch {
      return false;
    }
  });
}

describe("symlink chains", () => {
  for (const [label, links] of Object.entries(CHAINS)) {
    test(`${label}: the OS escapes, the resolver and every unpacker refuse`, async () => {
      expect(escapesOnDisk(links)).toBe(true);
      const map = new Map(links);
      expect(() => links.forEach(([name]) => resolveLink(map, name))).toThrow(UnsafeArchiveError);

      const zip = join(tempDir(), "chain.zip");
      writeFileSync(zip, rawZip(links.map(([name, target]) => ({ name, data: target, mode: 0o120777 }))));
      await expect(unzipFile(zip, join(tempDir(), "out"), { limits })).rejects.toThrow(UnsafeArchiveError);

      const tar = join(tempDir(), "chain.tar");
      writeFileSync(tar, await rawTar(links.map(([name, target]) => ({ name, type: "symlink" as const, linkname: target }))));
      await expect(untarFile(tar, join(tempDir(), "out"), limits)).rejects.toThrow(UnsafeArchiveError);

      const dir = tempDir();
      for (const [name, target] of links) {
        mkdirSync(join(dir, name, ".."), { recursive: true });
        symlinkSync(target, join(dir, name));
      }
      await expect(copyDirSafely(dir, join(tempDir(), "out"), limits)).rejects.toThrow(UnsafeArchiveError);
    });
  }

  test("links that stay inside (also through other links) are kept", async () => {
    const links: Link[] = [["d/s", "."], ["d/l1", "s/.."], ["cur", "d/l1/d"], ["bin", "d/s/s/s"]];
    expect(escapesOnDisk(links)).toBe(false);
    const zip = join(tempDir(), "ok.zip");
    writeFileSync(zip, rawZip([{ name: "d/f", data: "x" }, ...links.map(([name, data]) => ({ name, data, mode: 0o120777 }))]));
    const out = join(tempDir(), "out");
    await unzipFile(zip, out, { limits });
    expect(readlinkSync(join(out, "cur"))).toBe("d/l1/d");
  });

  test("a link loop is refused", () => {
    const map = new Map<string, string>([["a", "b"], ["b", "a"]]);
    expect(() => resolveLink(map, "a")).toThrow(/more than 40 links/);
  });

  test("readInsideTree never follows a link", () => {
    const root = tempDir();
    mkdirSync(join(root, "out"));
    writeFileSync(join(root, "secret"), "token-signing-key");
    symlinkSync("../secret", join(root, "out", "detect"));
    symlinkSync("..", join(root, "up"));
    writeFileSync(join(root, "out", "exit"), "0\n");
    expect(readInsideTree(root, "out/exit")).toBe("0\n");
    expect(readInsideTree(root, "out/missing")).toBeNull();
    expect(() => readInsideTree(root, "out/detect")).toThrow(UnsafeArchiveError);
    expect(() => readInsideTree(root, "up/secret")).toThrow(UnsafeArchiveError);
  });
});
