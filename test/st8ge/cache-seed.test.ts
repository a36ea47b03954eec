import { expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { seedCache } from "../../src/st8ge/cache-seed.ts";
import { tempDir, writeTree } from "./support.ts";

test("seeding copies a buildpack's cache but moves its unpacked runtimes, and puts them back when the staging fails", () => {
  const root = tempDir("st8ge-seed-");
  const kept = writeTree(join(root, "kept"), { "k1/npm/index": "npm cache", "k1/runtimes/node-abc/bin/node": "node!", "final/marker": "m" });
  const work = join(root, "work");
  const s = seedCache(kept, work);
  expect(readFileSync(join(work, "k1/npm/index"), "utf8")).toBe("npm cache");
  expect(readFileSync(join(work, "k1/runtimes/node-abc/bin/node"), "utf8")).toBe("node!");
  expect(readFileSync(join(work, "final/marker"), "utf8")).toBe("m");
  // Copied files are the staging's own: rewriting them leaves the kept cache as it was.
  writeFileSync(join(work, "k1/npm/index"), "changed");
  expect(readFileSync(join(kept, "k1/npm/index"), "utf8")).toBe("npm cache");
  expect(existsSync(join(kept, "k1/runtimes"))).toBe(false);
  s.restore();
  expect(readFileSync(join(kept, "k1/runtimes/node-abc/bin/node"), "utf8")).toBe("node!");
});
