import { afterAll, afterEach, beforeEach, expect, test } from "bun:test";
import { cleanupTempDirs } from "../support/tmp.ts";
import { errorCode, harness, pushBlob, pushImage, type Harness } from "./harness.ts";

/** Issue 13, item 7: descriptor sizes must be true; only manifest media types are recorded and served. */
let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(() => h.close());
afterAll(cleanupTempDirs);

const manifest = (config: { digest: string; size: number }, layer: { digest: string; size: number }, mediaType = "application/vnd.oci.image.manifest.v1+json") =>
  JSON.stringify({ schemaVersion: 2, mediaType, config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config }, layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }] });

test("an image manifest whose descriptor sizes are wrong is refused", async () => {
  const config = await pushBlob(h, "sizes", "{}");
  const layer = await pushBlob(h, "sizes", "layer-bytes");
  const put = (body: string) => h.req("/v2/sizes/manifests/t", { method: "PUT", body, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
  expect(await errorCode(await put(manifest({ digest: config, size: 2 }, { digest: layer, size: 1_000_000 })))).toBe("MANIFEST_INVALID");
  expect(await errorCode(await put(manifest({ digest: config, size: 3 }, { digest: layer, size: 11 })))).toBe("MANIFEST_INVALID");
  expect((await put(manifest({ digest: config, size: 2 }, { digest: layer, size: 11 }))).status).toBe(201);
});

test("a manifest declaring text/html is refused, and is never served as text/html", async () => {
  const config = await pushBlob(h, "html", "{}");
  const layer = await pushBlob(h, "html", "x");
  const body = manifest({ digest: config, size: 2 }, { digest: layer, size: 1 }, "text/html");
  const res = await h.req("/v2/html/manifests/t", { method: "PUT", body, headers: { "content-type": "text/html" } });
  expect(await errorCode(res)).toBe("MANIFEST_INVALID");
  // An untyped manifest sent as application/json is typed by its shape, not by the header.
  const untyped = JSON.stringify({ ...JSON.parse(body), mediaType: undefined });
  expect((await h.req("/v2/html/manifests/u", { method: "PUT", body: untyped, headers: { "content-type": "application/json" } })).status).toBe(201);
  expect((await h.req("/v2/html/manifests/u")).headers.get("content-type")).toBe("application/vnd.oci.image.manifest.v1+json");
  expect((await pushImage(h, "html", "ok")).digest).toMatch(/^sha256:/);
});

test("registry Basic auth and /v2/token share the UAA lockout: 5 wrong passwords lock the user", async () => {
  await h.store.users.create("dave", "dave-password", ["registry.push", "registry.pull"]);
  const basic = (pw: string) => `Basic ${btoa(`dave:${pw}`)}`;
  for (let i = 0; i < 5; i++) expect((await h.req("/v2/token?service=eirini-registry", { auth: basic(`wrong-${i}`) })).status).toBe(401);
  // Locked: the right password is refused too (never verified before, so no cached principal answers;
  // a client already holding verified credentials keeps them for the registry's short cache period).
  expect((await h.req("/v2/token?service=eirini-registry&scope=repository:x:pull", { auth: basic("dave-password") })).status).toBe(401);
});
