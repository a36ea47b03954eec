import { ConfigSchema, type ConfigInput } from "../../src/config/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import { createRegistryPart, type RegistryPart } from "../../src/registry/index.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { tempDir } from "../support/tmp.ts";
import { sha256 } from "./fixtures.ts";

export const ADMIN_PASSWORD = "admin-secret";

export interface Harness {
  store: Store;
  part: RegistryPart;
  /** Sends a request to the part's routes in-process (no sockets). */
  req(path: string, init?: RequestInit & { auth?: "admin" | "pull" | "none" | string }): Promise<Response>;
  adminAuth: string;
  pullAuth: string;
  close(): void;
}

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}`;

export async function harness(registry: ConfigInput["registry"] = {}): Promise<Harness> {
  const dataDir = tempDir("eirini-registry-");
  const config = ConfigSchema.parse({ dataDir, registry });
  const store = openStore(dataDir);
  await store.users.create("admin", ADMIN_PASSWORD, ["cloud_controller.admin", "registry.push", "registry.pull"]);
  const part = createRegistryPart({ config, store, logger: silentLogger, tokenKey: "k".repeat(64), baseUrl: () => "http://127.0.0.1:1" });
  const pull = part.registry.pullCredentials();
  const adminAuth = basic("admin", ADMIN_PASSWORD);
  const pullAuth = basic(pull.username, pull.password);
  return {
    store,
    part,
    adminAuth,
    pullAuth,
    req(path, init = {}) {
      const { auth = "admin", ...rest } = init;
      const headers = new Headers(rest.headers);
      const value = auth === "admin" ? adminAuth : auth === "pull" ? pullAuth : auth === "none" ? undefined : auth;
      if (value) headers.set("authorization", value);
      return Promise.resolve(part.routes!.request(`http://registry.test${path}`, { ...rest, headers }));
    },
    close() {
      store.close();
    },
  };
}

/** Pushes a blob monolithically; returns its digest. */
export async function pushBlob(h: Harness, repo: string, bytes: Uint8Array<ArrayBuffer> | string): Promise<string> {
  const digest = sha256(bytes);
  const res = await h.req(`/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: "POST", body: bytes });
  if (res.status !== 201) throw new Error(`push blob: ${res.status} ${await res.text()}`);
  return digest;
}

/** Pushes config + one layer and an image manifest under `tag`; returns the manifest and its digest. */
export async function pushImage(h: Harness, repo: string, tag: string, layer: string = `layer-${repo}-${tag}`): Promise<{ digest: string; body: string; layer: string; config: string }> {
  const config = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, tag });
  const configDigest = await pushBlob(h, repo, config);
  const layerDigest = await pushBlob(h, repo, layer);
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layerDigest, size: layer.length }],
  });
  const res = await h.req(`/v2/${repo}/manifests/${tag}`, { method: "PUT", body, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
  if (res.status !== 201) throw new Error(`push manifest: ${res.status} ${await res.text()}`);
  return { digest: sha256(body), body, layer: layerDigest, config: configDigest };
}

export async function errorCode(res: Response): Promise<string> {
  const body = (await res.json()) as { errors: { code: string }[] };
  return body.errors[0]!.code;
}
