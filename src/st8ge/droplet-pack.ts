import { closeSync, fsyncSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, createReadStream } from "node:fs";
import { join } from "node:path";
import { createGzip } from "node:zlib";
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

async function walk(pack: Pack, root: string, rel: string): Promise<void> {
  const names = readdirSync(join(root, rel)).sort();
  for (const name of names) {
    const childRel = `${rel}/${name}`;
    const abs = join(root, childRel);
    const st = lstatSync(abs);
    const common = { name: childRel, mode: st.mode & 0o7777, mtime: st.mtime, uid: 2000, gid: 2000, uname: "vcap", gname: "vcap" };
    if (st.isDirectory()) {
      await addEntry(pack, { ...common, name: `${childRel}/`, type: "directory" });
      await walk(pack, root, childRel);
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

/**
 * Writes `root` as a gzipped tar whose entries are `./<path>` (the CF droplet
 * form), owned by vcap (2000:2000), to `outPath`: hashed while written,
 * fsynced, removed again on any error. `rootEntry: false` leaves out the
 * `./` entry: an archive unpacked by a non-root user into a directory it
 * does not own (a pod's root-owned emptyDir) must not ask for a chmod of it.
 */
export async function packTree(root: string, outPath: string, gzipLevel = 6, opts: { rootEntry?: boolean } = {}): Promise<PackResult> {
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
