import { closeSync, createReadStream, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { createGzip, gzipSync } from "node:zlib";
import { pack as tarPack, type Header, type Pack } from "tar-stream";
import { writeAll } from "./unpack/safe-tree.ts";

export interface PackResult {
  /** `sha256:<hex>` of the gzipped tar as written. */
  digest: string;
  size: number;
}

/** Files above this are streamed into the tar instead of read whole. */
const READ_WHOLE_MAX = 8 * 1024 * 1024;

function addEntry(pack: Pack, header: Partial<Header> & { name: string }, body?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header as Header, body ?? (null as unknown as Buffer), (err) => (err ? reject(err) : resolve())));
}

async function addStreamed(pack: Pack, header: Partial<Header> & { name: string }, path: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const sink = pack.entry(header as Header, (err) => (err ? reject(err) : resolve()));
    const src = createReadStream(path, { highWaterMark: 1 << 20 });
    src.on("error", reject);
    src.pipe(sink as unknown as NodeJS.WritableStream);
  });
}

/** A subtree packed on its own (a gzip member of its own, reusable between stagings). */
type Split = (rel: string) => Promise<boolean>;

async function walk(pack: Pack, root: string, rel: string, split?: Split): Promise<void> {
  const names = readdirSync(join(root, rel)).sort();
  for (const name of names) {
    const childRel = `${rel}/${name}`;
    const abs = join(root, childRel);
    const st = lstatSync(abs);
    const common = { name: childRel, mode: st.mode & 0o7777, mtime: st.mtime, uid: 2000, gid: 2000, uname: "vcap", gname: "vcap" };
    if (st.isDirectory()) {
      if (split && (await split(childRel))) continue;
      await addEntry(pack, { ...common, name: `${childRel}/`, type: "directory" });
      await walk(pack, root, childRel, split);
    } else if (st.isSymbolicLink()) {
      await addEntry(pack, { ...common, type: "symlink", linkname: readlinkSync(abs) });
    } else if (st.isFile()) {
      const header: Partial<Header> & { name: string } = { ...common, type: "file", size: st.size };
      if (st.size <= READ_WHOLE_MAX) await addEntry(pack, header, readFileSync(abs));
      else await addStreamed(pack, header, abs);
    }
    // Sockets and fifos a buildpack left behind have no meaning in a droplet.
  }
}

/** tar-stream ends an archive with two zero blocks; a segment of a larger tar must not. */
const END_OF_TAR = 1024;

/**
 * One gzip member holding the tar entries of `root` (with `split` subtrees
 * left out), or of only the subtree `sub`, without the end blocks; streamed:
 * the tar's last 1024 bytes are held back and dropped.
 */
async function tarMember(root: string, sub: string | null, gzipLevel: number, sink: (b: Buffer) => void, split?: Split): Promise<void> {
  const pack = tarPack();
  const gz = createGzip({ level: gzipLevel, chunkSize: 256 * 1024 });
  let held = Buffer.alloc(0);
  pack.on("data", (d: unknown) => {
    const all = held.length ? Buffer.concat([held, d as Buffer]) : (d as Buffer);
    const cut = Math.max(0, all.length - END_OF_TAR);
    held = Buffer.from(all.subarray(cut));
    // Backpressure: the tar waits while gzip catches up (a runtime is 100s of MB).
    if (cut > 0 && !gz.write(all.subarray(0, cut))) {
      pack.pause();
      gz.once("drain", () => pack.resume());
    }
  });
  pack.on("end", () => gz.end());
  pack.on("error", (err: Error) => gz.destroy(err));
  const consume = (async () => {
    for await (const chunk of gz as AsyncIterable<Buffer>) sink(chunk);
  })();
  const produce = (async () => {
    if (sub === null) {
      const st = lstatSync(root);
      await addEntry(pack, { name: "./", type: "directory", mode: st.mode & 0o7777, mtime: st.mtime, uid: 2000, gid: 2000 });
      await walk(pack, root, ".", split);
    } else {
      const st = lstatSync(join(root, sub));
      await addEntry(pack, { name: `${sub}/`, type: "directory", mode: st.mode & 0o7777, mtime: st.mtime, uid: 2000, gid: 2000, uname: "vcap", gname: "vcap" });
      await walk(pack, root, sub);
    }
    pack.finalize();
  })();
  produce.catch((err: Error) => pack.destroy(err));
  await Promise.all([produce, consume]);
}

/**
 * What a subtree's tar is made of: every file's path, mode, size, mtime and
 * inode (hard links from the cache keep theirs), every link's target, every
 * directory's path and mode. Directories are made anew by each staging, so
 * their inode and mtime are left out: a reused member keeps the directory
 * times of the staging that made it.
 */
function subtreeKey(root: string, sub: string, gzipLevel: number): string {
  const h = new Bun.CryptoHasher("sha256");
  h.update(`v1 ${gzipLevel}\n`);
  const visit = (rel: string) => {
    const st = lstatSync(join(root, rel));
    if (st.isDirectory()) h.update(`d ${rel}\0${st.mode}\n`);
    else if (st.isSymbolicLink()) h.update(`l ${rel}\0${st.mode}\0${readlinkSync(join(root, rel))}\n`);
    else h.update(`f ${rel}\0${st.mode}\0${st.size}\0${st.mtimeMs}\0${st.ino}\n`);
    if (st.isDirectory()) for (const n of readdirSync(join(root, rel)).sort()) visit(`${rel}/${n}`);
  };
  visit(sub);
  return h.digest("hex");
}

export interface PackOptions {
  /** false leaves out the `./` entry (see packTree). */
  rootEntry?: boolean;
  /**
   * A directory of gzip members kept between stagings: every `./deps/<i>/<dir>`
   * (a runtime, installed packages) becomes a gzip member of its own, reused
   * as is when its files are the same ones as last time (same inodes, sizes,
   * mtimes), so a re-staging does not compress a 100 MB runtime again. The
   * droplet is then a multi-member gzip, which gzip, Go and Node read as one.
   */
  memberCache?: string;
}

/** Keeps the newest `keep` cached members. */
function pruneMembers(dir: string, keep: number): void {
  const entries = readdirSync(dir)
    .filter((n) => n.endsWith(".gz"))
    .map((n) => ({ n, t: statSync(join(dir, n)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const e of entries.slice(keep)) rmSync(join(dir, e.n), { force: true });
}

/**
 * Writes `root` as a gzipped tar whose entries are `./<path>` (the CF droplet
 * form), owned by vcap (2000:2000), to `outPath`: hashed while written,
 * fsynced, removed again on any error. `rootEntry: false` leaves out the
 * `./` entry: an archive unpacked by a non-root user into a directory it
 * does not own (a pod's root-owned emptyDir) must not ask for a chmod of it.
 */
export async function packTree(root: string, outPath: string, gzipLevel = 6, opts: PackOptions = {}): Promise<PackResult> {
  if (opts.memberCache) return packWithMembers(root, outPath, gzipLevel, opts.memberCache);
  const pack = tarPack();
  const gz = createGzip({ level: gzipLevel, chunkSize: 256 * 1024 });
  const hasher = new Bun.CryptoHasher("sha256");
  const fd = openSync(outPath, "w", 0o644);
  let size = 0;
  try {
    pack.on("error", (err: Error) => gz.destroy(err));
    pack.pipe(gz as unknown as NodeJS.WritableStream);
    const consume = (async () => {
      for await (const chunk of gz as AsyncIterable<Buffer>) {
        hasher.update(chunk);
        writeAll(fd, chunk);
        size += chunk.length;
      }
    })();
    const produce = (async () => {
      const st = lstatSync(root);
      if (opts.rootEntry !== false) await addEntry(pack, { name: "./", type: "directory", mode: st.mode & 0o7777, mtime: st.mtime, uid: 2000, gid: 2000 });
      await walk(pack, root, ".");
      pack.finalize();
    })();
    produce.catch((err: Error) => pack.destroy(err));
    await Promise.all([produce, consume]);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(outPath, { force: true });
    throw err;
  }
  closeSync(fd);
  return { digest: `sha256:${hasher.digest("hex")}`, size };
}

async function packWithMembers(root: string, outPath: string, gzipLevel: number, cacheDir: string): Promise<PackResult> {
  mkdirSync(cacheDir, { recursive: true });
  const hasher = new Bun.CryptoHasher("sha256");
  const fd = openSync(outPath, "w", 0o644);
  let size = 0;
  const write = (b: Uint8Array) => {
    hasher.update(b);
    writeAll(fd, b);
    size += b.length;
  };
  try {
    // The tree without the deps subtrees, then each subtree as its own member, then the end blocks.
    const subtrees: string[] = [];
    const split: Split = async (rel) => {
      if (!/^\.\/deps\/[^/]+\/[^/]+$/.test(rel)) return false;
      subtrees.push(rel);
      return true;
    };
    await tarMember(root, null, gzipLevel, write, split);
    for (const sub of subtrees) {
      const cached = join(cacheDir, `${subtreeKey(root, sub, gzipLevel)}.gz`);
      // Opened first: a member another staging prunes meanwhile stays readable through its fd.
      let hit: number | null = null;
      try {
        hit = openSync(cached, "r");
        utimesSync(cached, new Date(), new Date());
      } catch {
        // Not there (or just pruned): packed afresh below.
      }
      if (hit !== null) {
        for await (const chunk of createReadStream("", { fd: hit, highWaterMark: 1 << 20 })) write(chunk as Buffer);
        continue;
      }
      const tmp = `${cached}.${process.pid}.${crypto.randomUUID().slice(0, 8)}`;
      const cfd = openSync(tmp, "w", 0o644);
      try {
        await tarMember(root, sub, gzipLevel, (b) => {
          write(b);
          writeAll(cfd, b);
        });
      } catch (err) {
        closeSync(cfd);
        rmSync(tmp, { force: true });
        throw err;
      }
      closeSync(cfd);
      renameSync(tmp, cached);
    }
    write(gzipSync(new Uint8Array(END_OF_TAR), { level: gzipLevel as 1 }));
    fsyncSync(fd);
    pruneMembers(cacheDir, 16);
  } catch (err) {
    closeSync(fd);
    rmSync(outPath, { force: true });
    throw err;
  }
  closeSync(fd);
  return { digest: `sha256:${hasher.digest("hex")}`, size };
}
