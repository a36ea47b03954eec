import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run, TOOL_PATH } from "./exec.ts";
import { unpackStackLayers } from "./stack-rootfs.ts";

/**
 * OCI images for docker-lifecycle apps: pulled with skopeo (the same client
 * the registry tests use) into one shared OCI layout under `cacheDir`, so
 * layers already there are not fetched again, then unpacked once per image
 * config into a root filesystem (`<cacheDir>/rootfs/<config digest>`).
 * Credentials go to skopeo through a 0600 auth file, never on its command
 * line. Registries on loopback are spoken to over plain HTTP (the embedded
 * registry); every other one with TLS verified.
 */
export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  user: string;
  workingDir: string;
  /** TCP ports from EXPOSE, in order. */
  exposedPorts: number[];
}

export interface PulledImage {
  rootfs: string;
  config: ImageConfig;
  digest: string;
}

export interface PullOptions {
  username?: string;
  password?: string;
}

export class ImageError extends Error {
  override name = "ImageError";
}

/** `docker://` reference for skopeo from a CF docker image name (`busybox`, `host:port/repo:tag`, `repo@sha256:...`). */
export function dockerReference(image: string): string {
  const ref = image.replace(/^docker:\/\//, "");
  if (!/^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/.test(ref)) throw new ImageError(`invalid docker image reference ${JSON.stringify(image)}`);
  return `docker://${ref}`;
}

function registryHost(image: string): string {
  const first = image.replace(/^docker:\/\//, "").split("/")[0] ?? "";
  return first.includes(".") || first.includes(":") || first === "localhost" ? first : "";
}

function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, "");
  return h === "localhost" || h.startsWith("127.") || h === "[::1]";
}

export async function pullImage(image: string, cacheDir: string, opts: PullOptions = {}): Promise<PulledImage> {
  const ref = dockerReference(image);
  const layout = join(cacheDir, "layout");
  mkdirSync(layout, { recursive: true });
  const tag = new Bun.CryptoHasher("sha256").update(image).digest("hex").slice(0, 32);
  const args = ["skopeo", "copy", "--quiet", "--remove-signatures"];
  const host = registryHost(image);
  if (isLoopback(host)) args.push("--src-tls-verify=false");
  let authDir: string | undefined;
  if (opts.username) {
    if (!host) throw new ImageError(`registry credentials need the registry's host in the image name (e.g. HOST:PORT/${image})`);
    authDir = join(cacheDir, `auth-${crypto.randomUUID()}`);
    mkdirSync(authDir, { mode: 0o700 });
    const file = join(authDir, "auth.json");
    writeFileSync(file, JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${opts.username}:${opts.password ?? ""}`).toString("base64") } } }), { mode: 0o600 });
    chmodSync(file, 0o600);
    args.push("--src-authfile", file);
  }
  args.push(ref, `oci:${layout}:${tag}`);
  try {
    const res = await run(args, { allowFail: true, env: { PATH: TOOL_PATH, HOME: cacheDir } });
    if (res.code !== 0) throw new ImageError(`cannot pull ${image}: ${(res.stderr || res.stdout).trim().split("\n").slice(-2).join(" | ")}`);
  } finally {
    if (authDir) rmSync(authDir, { recursive: true, force: true });
  }
  return unpackFromLayout(layout, tag, cacheDir);
}

interface Descriptor {
  digest: string;
  mediaType?: string;
  annotations?: Record<string, string>;
}

function blobPath(layout: string, digest: string): string {
  const [alg, hex] = digest.split(":");
  if (!alg || !hex || !/^[a-f0-9]+$/.test(hex)) throw new ImageError(`bad digest ${digest}`);
  return join(layout, "blobs", alg, hex);
}

async function unpackFromLayout(layout: string, tag: string, cacheDir: string): Promise<PulledImage> {
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as { manifests: Descriptor[] };
  const desc = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag);
  if (!desc) throw new ImageError(`pulled image not found in the layout (${tag})`);
  const manifest = JSON.parse(readFileSync(blobPath(layout, desc.digest), "utf8")) as { config: Descriptor; layers: Descriptor[] };
  const raw = JSON.parse(readFileSync(blobPath(layout, manifest.config.digest), "utf8")) as {
    config?: { Entrypoint?: string[] | null; Cmd?: string[] | null; Env?: string[] | null; User?: string; WorkingDir?: string; ExposedPorts?: Record<string, unknown> | null };
  };
  const c = raw.config ?? {};
  const env: Record<string, string> = {};
  for (const kv of c.Env ?? []) {
    const i = kv.indexOf("=");
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const exposedPorts = Object.keys(c.ExposedPorts ?? {})
    .filter((p) => !p.endsWith("/udp"))
    .map((p) => Number.parseInt(p, 10))
    .filter((p) => Number.isInteger(p) && p > 0 && p < 65536);
  const config: ImageConfig = { entrypoint: c.Entrypoint ?? [], cmd: c.Cmd ?? [], env, user: c.User ?? "", workingDir: c.WorkingDir || "/", exposedPorts };
  const id = manifest.config.digest.replace(":", "-");
  const rootfs = join(cacheDir, "rootfs", id);
  if (!existsSync(join(rootfs, ".complete"))) await unpackStackLayers(manifest.layers.map((l) => blobPath(layout, l.digest)), rootfs);
  return { rootfs, config, digest: manifest.config.digest };
}

/** uid and gid for an image's `User` ("name", "uid", "uid:gid", "name:group"), from the image's /etc/passwd and /etc/group; root when empty. */
export function resolveImageUser(rootfs: string, user: string): { uid: number; gid: number } {
  if (!user) return { uid: 0, gid: 0 };
  const [u, g] = user.split(":") as [string, string | undefined];
  const passwd = readLines(join(rootfs, "etc/passwd"));
  const group = readLines(join(rootfs, "etc/group"));
  let uid: number;
  let gid: number;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    gid = Number(passwd.find((l) => l[2] === u)?.[3] ?? u);
  } else {
    const row = passwd.find((l) => l[0] === u);
    if (!row) throw new ImageError(`the image's user ${JSON.stringify(u)} is not in its /etc/passwd`);
    uid = Number(row[2]);
    gid = Number(row[3]);
  }
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const row = group.find((l) => l[0] === g);
      if (!row) throw new ImageError(`the image's group ${JSON.stringify(g)} is not in its /etc/group`);
      gid = Number(row[2]);
    }
  }
  return { uid, gid };
}

function readLines(file: string): string[][] {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => l.split(":"));
  } catch {
    return [];
  }
}
