import { createReadStream, mkdirSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { createGunzip } from "node:zlib";
import { extract } from "tar-stream";
import { parse } from "yaml";
import { z } from "zod";
import { RuntimeError } from "./errors.ts";
import type { RuntimeDependency, RuntimeStore } from "./store.ts";

/**
 * An offline runtime archive: a tar (optionally gzipped) holding
 * `manifest.yml` in the shape of a CF buildpack manifest's dependencies,
 *
 *     dependencies:
 *     - name: node
 *       version: 20.19.2
 *       cf_stacks: [cflinuxfs4, bare]
 *       sha256: <hex of the file>
 *       file: node-20.19.2.tgz
 *
 * and the files it names. Every file is checked against its sha256 before
 * anything is recorded; one mismatch refuses the whole archive.
 */
const Manifest = z.object({
  dependencies: z
    .array(
      z.object({
        name: z.string().min(1),
        version: z.union([z.string(), z.number()]).transform(String),
        cf_stacks: z.array(z.string().min(1)).min(1),
        sha256: z.string().regex(/^[0-9a-f]{64}$/, "sha256 must be 64 lower-case hex digits"),
        file: z.string().min(1),
      }),
    )
    .min(1),
});

const MAX_MANIFEST = 1 << 20;

async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, "r");
  try {
    const b = Buffer.alloc(2);
    await fh.read(b, 0, 2, 0);
    return b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** Adds every dependency of an offline archive to the store; returns what was added. */
export async function addRuntimeArchive(store: RuntimeStore, archive: string): Promise<RuntimeDependency[]> {
  const scratch = join(store.blobs.tmpDir, `archive-${crypto.randomUUID()}`);
  mkdirSync(scratch, { recursive: true });
  try {
    const files = new Map<string, { path: string; sha256: string }>();
    let manifestText: string | null = null;
    const ex = extract();
    let n = 0;
    const done = new Promise<void>((resolve, reject) => {
      ex.on("entry", (header, stream, next) => {
        const name = header.name.replace(/^\.\//, "");
        if (header.type !== "file") {
          stream.resume();
          stream.on("end", next);
          return;
        }
        if (name === "manifest.yml") {
          const chunks: Buffer[] = [];
          let size = 0;
          stream.on("data", (d: unknown) => {
            const c = d as Buffer;
            size += c.length;
            if (size <= MAX_MANIFEST) chunks.push(c);
          });
          stream.on("end", () => {
            if (size > MAX_MANIFEST) return reject(new RuntimeError("InvalidArchive", "manifest.yml is larger than 1 MiB"));
            manifestText = Buffer.concat(chunks).toString("utf8");
            next();
          });
          return;
        }
        const path = join(scratch, String(n++));
        const hasher = new Bun.CryptoHasher("sha256");
        const sink = Bun.file(path).writer();
        stream.on("data", (d: unknown) => {
            const c = d as Buffer;
          hasher.update(c);
          sink.write(c);
        });
        stream.on("error", reject);
        stream.on("end", () => {
          Promise.resolve(sink.end())
            .then(() => {
              files.set(name, { path, sha256: hasher.digest("hex") });
              next();
            })
            .catch(reject);
        });
      });
      ex.on("finish", resolve);
      ex.on("error", (err) => reject(new RuntimeError("InvalidArchive", `not a runtime archive (tar or tar.gz): ${err.message}`, { cause: err })));
    });
    const input = createReadStream(archive);
    input.on("error", (err) => ex.destroy(err));
    if (await isGzip(archive)) {
      const gz = createGunzip();
      gz.on("error", (err) => ex.destroy(err));
      input.pipe(gz).pipe(ex);
    } else {
      input.pipe(ex);
    }
    await done;
    if (manifestText === null) throw new RuntimeError("InvalidArchive", "the archive has no manifest.yml");
    let doc: unknown;
    try {
      doc = parse(manifestText);
    } catch (err) {
      throw new RuntimeError("InvalidArchive", `manifest.yml is not YAML: ${(err as Error).message.split("\n")[0]}`, { cause: err });
    }
    const m = Manifest.safeParse(doc);
    if (!m.success) {
      const issue = m.error.issues[0]!;
      throw new RuntimeError("InvalidArchive", `manifest.yml: ${issue.path.join(".")}: ${issue.message}`);
    }
    // Check everything first: an archive is added whole or not at all.
    for (const d of m.data.dependencies) {
      const f = files.get(d.file.replace(/^\.\//, ""));
      if (!f) throw new RuntimeError("InvalidArchive", `manifest.yml names ${d.file} (${d.name} ${d.version}), which the archive does not hold`);
      if (f.sha256 !== d.sha256) throw new RuntimeError("ChecksumMismatch", `${d.file} (${d.name} ${d.version}) has sha256 ${f.sha256}, not the ${d.sha256} manifest.yml names`);
    }
    const added: RuntimeDependency[] = [];
    for (const d of m.data.dependencies) {
      const f = files.get(d.file.replace(/^\.\//, ""))!;
      for (const stack of d.cf_stacks) added.push(await store.addFile({ name: d.name, version: d.version, stack }, f.path, d.sha256));
    }
    return added;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
