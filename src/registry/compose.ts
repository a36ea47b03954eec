import type { Launcher } from "./launcher.ts";
import { MediaType } from "./media-types.ts";

export interface LayerRef {
  digest: string;
  diffId: string;
  size: number;
  mediaType: string;
}

export interface StackImage {
  name: string;
  os: string;
  architecture: string;
  /** The stack image's own `config` section (Env, Labels...), kept as the base. */
  baseConfig: Record<string, unknown>;
  layers: LayerRef[];
}

export interface ComposeInput {
  stack: StackImage;
  droplet: LayerRef;
  dropletHash: string;
  startCommand: string;
  launcher: Launcher;
  /** Creation time of the droplet layer, so composing twice gives the same digest. */
  created: string;
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function envWith(base: unknown, set: Record<string, string>): string[] {
  const env = Array.isArray(base) ? base.filter((e): e is string => typeof e === "string") : [];
  const keep = env.filter((e) => !(e.split("=")[0]! in set));
  return [...keep, ...Object.entries(set).map(([k, v]) => `${k}=${v}`)];
}

/**
 * Builds the image config and manifest bytes for a droplet on a stack: the
 * stack's layers as imported (never re-read), then the droplet layer.
 */
export function composeImage(input: ComposeInput): { config: Uint8Array; manifest: Uint8Array } {
  const { stack, droplet } = input;
  const base = stack.baseConfig;
  const path = (Array.isArray(base.Env) ? (base.Env as string[]).find((e) => e.startsWith("PATH=")) : undefined)?.slice(5) ?? DEFAULT_PATH;
  const labels = { ...((base.Labels as Record<string, string> | undefined) ?? {}), "org.cloudfoundry.droplet.hash": input.dropletHash, "org.cloudfoundry.stack": stack.name };
  const config = {
    created: input.created,
    architecture: stack.architecture,
    os: stack.os,
    config: {
      User: "2000",
      Env: envWith(base.Env, { HOME: "/home/vcap/app", PATH: path, LANG: "en_US.UTF-8" }),
      ...input.launcher.entrypoint(input.startCommand),
      WorkingDir: "/home/vcap/app",
      Labels: labels,
    },
    rootfs: { type: "layers", diff_ids: [...stack.layers.map((l) => l.diffId), droplet.diffId] },
    history: [
      ...stack.layers.map(() => ({ created: input.created, created_by: `eirini stack ${stack.name}` })),
      { created: input.created, created_by: `eirini droplet ${input.dropletHash}` },
    ],
  };
  const configBytes = new TextEncoder().encode(JSON.stringify(config));
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: `sha256:${new Bun.CryptoHasher("sha256").update(configBytes).digest("hex")}`, size: configBytes.byteLength },
    layers: [...stack.layers, droplet].map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    annotations: { "org.cloudfoundry.droplet.hash": input.dropletHash, "org.cloudfoundry.stack": stack.name },
  };
  return { config: configBytes, manifest: new TextEncoder().encode(JSON.stringify(manifest)) };
}
