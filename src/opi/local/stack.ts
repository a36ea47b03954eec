import { existsSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { Config } from "../../config/index.ts";
import { unpackStackLayers } from "../../container/index.ts";
import { stackLayerFiles } from "../../registry/index.ts";
import type { Store } from "../../store/index.ts";

/**
 * The stack as local containers need it: a root filesystem directory. Either
 * `local.stack` names a directory, or it names a stack imported with
 * `eirini stack import` (default: `staging.defaultStack`, i.e. cflinuxfs4),
 * whose stored layers are unpacked once under `<root>/stacks/`.
 */
export type StackSource = { kind: "dir"; path: string } | { kind: "imported"; name: string; layers: { digest: string; path: string }[] } | { kind: "missing"; name: string };

export function findStack(store: Store, config: Config): StackSource {
  const wanted = config.local.stack ?? config.staging.defaultStack;
  if (isAbsolute(wanted)) {
    return existsSync(wanted) && statSync(wanted).isDirectory() ? { kind: "dir", path: wanted } : { kind: "missing", name: wanted };
  }
  let layers: { digest: string; path: string }[] | null = null;
  try {
    layers = stackLayerFiles(store, wanted);
  } catch {
    layers = null;
  }
  return layers && layers.length > 0 ? { kind: "imported", name: wanted, layers } : { kind: "missing", name: wanted };
}

/** The rootfs directory of a found stack (unpacking an imported one on first use). */
export async function stackRootfs(source: StackSource, root: string): Promise<string> {
  if (source.kind === "dir") return source.path;
  if (source.kind === "missing") throw new Error(`stack ${source.name} is neither a directory nor an imported stack (eirini stack import ${source.name} FILE)`);
  const id = new Bun.CryptoHasher("sha256").update(source.layers.map((l) => l.digest).join(",")).digest("hex").slice(0, 16);
  return unpackStackLayers(source.layers.map((l) => l.path), join(root, "stacks", `${source.name}-${id}`));
}

/** How to get a stack when none is there (README "Containers on the local backend"). */
export function stackHint(name: string): string {
  return `import one: an OCI archive (online: \`skopeo copy docker://REGISTRY/REPO/${name}:TAG oci-archive:${name}.tar\`) or a rootfs tarball, then \`eirini stack import ${name} ${name}.tar\`; or set local.stack to a rootfs directory`;
}
