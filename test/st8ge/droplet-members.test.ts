import { expect, test } from "bun:test";
import { cpSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { extract } from "tar-stream";
import { packTree } from "../../src/st8ge/index.ts";
import { tempDir } from "./support.ts";

async function entries(tgz: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on("entry", (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on("data", (c: unknown) => chunks.push(c as Buffer));
      stream.on("end", () => {
        out[h.name] = h.type === "file" ? Buffer.concat(chunks).toString() : h.type;
        next();
      });
    });
    ex.on("finish", resolve);
    ex.on("error", reject);
  });
  ex.end(gunzipSync(readFileSync(tgz)));
  await done;
  return out;
}

test("deps subtrees become gzip members reused while their files are the same; gzip, tar and node read the droplet as one", async () => {
  const root = tempDir("st8ge-members-");
  const kept = join(root, "kept-runtime");
  mkdirSync(join(kept, "bin"), { recursive: true });
  writeFileSync(join(kept, "bin", "rt"), "runtime ".repeat(10_000));
  const members = join(root, "members");
  const build = (n: number) => {
    const d = join(root, `droplet-${n}`);
    mkdirSync(join(d, "app"), { recursive: true });
    mkdirSync(join(d, "deps", "0", "rt", "bin"), { recursive: true });
    mkdirSync(join(d, "profile.d"), { recursive: true });
    writeFileSync(join(d, "app", "server.js"), `version ${n}`);
    // Hard-linked from the kept cache, as runtime.sh does (cp -al).
    linkSync(join(kept, "bin", "rt"), join(d, "deps", "0", "rt", "bin", "rt"));
    writeFileSync(join(d, "deps", "0", "config.yml"), "name: x\n");
    return d;
  };
  const a = await packTree(build(1), join(root, "a.tgz"), 6, { memberCache: members });
  expect(readdirSync(members).length).toBe(1);
  const b = await packTree(build(2), join(root, "b.tgz"), 6, { memberCache: members });
  expect(readdirSync(members).length).toBe(1);
  expect(a.digest).not.toBe(b.digest);
  const e = await entries(join(root, "b.tgz"));
  expect(e["./app/server.js"]).toBe("version 2");
  expect(e["./deps/0/rt/bin/rt"]).toBe("runtime ".repeat(10_000));
  expect(e["./deps/0/config.yml"]).toBe("name: x\n");
  expect(e["./deps/0/rt/"]).toBe("directory");
  // GNU tar agrees, and the archive ends properly (no "unexpected EOF", no junk).
  const t = Bun.spawnSync(["tar", "tzf", join(root, "b.tgz")]);
  expect(t.exitCode).toBe(0);
  expect(t.stdout.toString().trim().split("\n").sort()).toEqual(Object.keys(e).sort());
  // A changed runtime file (new inode) is packed afresh.
  const c = build(3);
  rmSync(join(c, "deps", "0", "rt", "bin", "rt"));
  cpSync(join(kept, "bin", "rt"), join(c, "deps", "0", "rt", "bin", "rt"));
  await packTree(c, join(root, "c.tgz"), 6, { memberCache: members });
  expect(readdirSync(members).length).toBe(2);
  expect((await entries(join(root, "c.tgz")))["./deps/0/rt/bin/rt"]).toBe("runtime ".repeat(10_000));
});
