import { mkdirSync, readdirSync, statSync, writeFileSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import tar from "tar-stream";

export const sha256 = (b: Uint8Array<ArrayBuffer> | string) => `sha256:${new Bun.CryptoHasher("sha256").update(b).digest("hex")}`;

export interface TarFile {
  name: string;
  body?: string | Uint8Array;
  type?: "file" | "directory" | "symlink" | "link";
  linkname?: string;
  mode?: number;
  uid?: number;
}

/** Builds an in-memory tar from entries (names are used verbatim, so tests can craft bad ones). */
export async function makeTar(files: TarFile[]): Promise<Uint8Array<ArrayBuffer>> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((res, rej) => {
    pack.on("end", () => res());
    pack.on("error", rej);
  });
  for (const f of files) {
    const type = f.type ?? "file";
    const body = f.body === undefined ? undefined : typeof f.body === "string" ? Buffer.from(f.body) : Buffer.from(f.body);
    const header = { name: f.name, type, linkname: f.linkname, mode: f.mode ?? (type === "directory" ? 0o755 : 0o644), uid: f.uid ?? 0, gid: f.uid ?? 0, mtime: new Date(1_700_000_000_000) } as tar.Header;
    if (type === "file") pack.entry(header, body ?? Buffer.alloc(0));
    else pack.entry(header);
  }
  pack.finalize();
  await done;
  return new Uint8Array(Buffer.concat(chunks));
}

export interface Blob {
  digest: string;
  bytes: Uint8Array<ArrayBuffer>;
}

function blob(bytes: Uint8Array<ArrayBuffer> | string): Blob {
  const b = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  return { digest: sha256(b), bytes: b };
}

/** An OCI image (layers from tar entry lists) written as an OCI layout directory. */
export async function writeOciLayout(dir: string, layers: TarFile[][], opts: { tag?: string; env?: string[] } = {}): Promise<{ manifest: Blob; config: Blob; layers: Blob[] }> {
  const tars = await Promise.all(layers.map(makeTar));
  const layerBlobs = tars.map((t) => blob(Bun.gzipSync(t)));
  const config = blob(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Env: opts.env ?? ["PATH=/usr/local/bin:/usr/bin:/bin"] },
      rootfs: { type: "layers", diff_ids: tars.map((t) => sha256(t)) },
    }),
  );
  const manifest = blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config.digest, size: config.bytes.byteLength },
      layers: layerBlobs.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: l.digest, size: l.bytes.byteLength })),
    }),
  );
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  for (const b of [manifest, config, ...layerBlobs]) writeFileSync(join(dir, "blobs", "sha256", b.digest.slice(7)), b.bytes);
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: manifest.digest, size: manifest.bytes.byteLength, annotations: { "org.opencontainers.image.ref.name": opts.tag ?? "latest" } }],
    }),
  );
  return { manifest, config, layers: layerBlobs };
}

/** Tars a directory tree (like an `oci-archive:` file). */
export async function tarDirectory(dir: string): Promise<Uint8Array<ArrayBuffer>> {
  const files: TarFile[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const rel = relative(dir, p);
      if (statSync(p).isDirectory()) {
        files.push({ name: rel + "/", type: "directory" });
        walk(p);
      } else files.push({ name: rel, body: readFileSync(p) });
    }
  };
  walk(dir);
  return makeTar(files);
}

/** A small CF droplet (.tgz): app files, a profile.d script and staging_info.yml. */
export async function makeDroplet(startCommand = "./run.sh", extra: TarFile[] = []): Promise<Uint8Array<ArrayBuffer>> {
  return Bun.gzipSync(
    await makeTar([
      { name: "./", type: "directory" },
      { name: "./app/", type: "directory" },
      { name: "./app/run.sh", body: "#!/bin/sh\necho hello\n", mode: 0o755 },
      { name: "./app/.profile.d/", type: "directory" },
      { name: "./app/.profile.d/app.sh", body: "export APP_PROFILE=1\n" },
      { name: "./deps/", type: "directory" },
      { name: "./profile.d/", type: "directory" },
      { name: "./profile.d/bp.sh", body: "export BP=1\n" },
      { name: "./staging_info.yml", body: JSON.stringify({ detected_buildpack: "binary", start_command: startCommand }) },
      ...extra,
    ]),
  );
}
