import { afterAll, beforeEach, afterEach, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { cleanupTempDirs } from "../support/tmp.ts";
import { sha256 } from "./fixtures.ts";
import { errorCode, harness, pushBlob, pushImage, type Harness } from "./harness.ts";

afterAll(cleanupTempDirs);

let h: Harness;
beforeEach(async () => {
  h = await harness({ maxUploadBytes: 1024 * 1024, maxManifestBytes: 4096 });
});
afterEach(() => h.close());

const tmpFiles = () => readdirSync(h.part.registry.blobs.tmpDir);

describe("auth", () => {
  test("ping needs credentials and answers 401 with a Bearer challenge", async () => {
    const res = await h.req("/v2/", { auth: "none" });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="http://registry.test/v2/token",service="eirini-registry"');
    expect(await errorCode(res)).toBe("UNAUTHORIZED");
    const ok = await h.req("/v2/");
    expect(ok.status).toBe(200);
    expect(ok.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
    expect((await h.req("/v2/", { auth: `Basic ${btoa("admin:wrong")}` })).status).toBe(401);
  });

  test("repository challenges carry the scope the request needs", async () => {
    const pull = await h.req("/v2/a/b/manifests/latest", { auth: "none" });
    expect(pull.headers.get("www-authenticate")).toContain('scope="repository:a/b:pull"');
    const push = await h.req("/v2/a/b/blobs/uploads/", { method: "POST", auth: "none" });
    expect(push.headers.get("www-authenticate")).toContain('scope="repository:a/b:pull,push"');
  });

  test("token endpoint grants what the credentials allow; bearer tokens are honoured", async () => {
    const noCreds = await h.req("/v2/token?service=eirini-registry&scope=repository:app/x:pull", { auth: "none" });
    expect(noCreds.status).toBe(401);
    const res = await h.req("/v2/token?service=eirini-registry&scope=repository:app/x:pull,push");
    expect(res.status).toBe(200);
    const t = (await res.json()) as { token: string; access_token: string; expires_in: number; issued_at: string };
    expect(t.access_token).toBe(t.token);
    expect(t.expires_in).toBeGreaterThan(0);
    const bearer = `Bearer ${t.token}`;
    const digest = await pushBlob({ ...h, req: (p, i = {}) => h.req(p, { ...i, auth: bearer }) }, "app/x", "via bearer");
    expect((await h.req(`/v2/app/x/blobs/${digest}`, { auth: bearer })).status).toBe(200);
    // A token for one repository does not open another.
    const other = await h.req(`/v2/app/y/blobs/${digest}`, { auth: bearer });
    expect(other.status).toBe(401);
    expect(other.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
    expect((await h.req("/v2/", { auth: "Bearer not.a.jwt" })).status).toBe(401);
  });

  test("OAuth2 password grant on POST /v2/token", async () => {
    const body = new URLSearchParams({ grant_type: "password", username: "admin", password: "admin-secret", scope: "repository:a:pull", service: "eirini-registry" });
    const res = await h.req("/v2/token", { method: "POST", body, auth: "none", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { scope: string }).scope).toBe("repository:a:pull");
    const bad = new URLSearchParams({ grant_type: "password", username: "admin", password: "nope" });
    expect((await h.req("/v2/token", { method: "POST", body: bad, auth: "none" })).status).toBe(401);
  });

  test("pull-only credentials pull but never push", async () => {
    const img = await pushImage(h, "app/x", "v1");
    expect((await h.req("/v2/app/x/manifests/v1", { auth: "pull" })).status).toBe(200);
    const denied = await h.req("/v2/app/x/blobs/uploads/", { method: "POST", auth: "pull" });
    expect(denied.status).toBe(403);
    expect(await errorCode(denied)).toBe("DENIED");
    expect((await h.req(`/v2/app/x/manifests/${img.digest}`, { method: "DELETE", auth: "pull" })).status).toBe(403);
    // Through the token flow the push scope is simply not granted.
    const tok = (await (await h.req("/v2/token?scope=repository:app/x:pull,push", { auth: "pull" })).json()) as { token: string; scope: string };
    expect(tok.scope).toBe("repository:app/x:pull");
    const res = await h.req("/v2/app/x/blobs/uploads/", { method: "POST", auth: `Bearer ${tok.token}` });
    expect(res.status).toBe(401);
    expect((await h.req("/v2/_catalog", { auth: "pull" })).status).toBe(403);
  });

  test("anonymous pull when configured", async () => {
    const anon = await harness({ anonymousPull: true });
    try {
      await pushImage(anon, "pub/x", "v1");
      expect((await anon.req("/v2/pub/x/manifests/v1", { auth: "none" })).status).toBe(200);
      expect((await anon.req("/v2/pub/x/blobs/uploads/", { method: "POST", auth: "none" })).status).toBe(401);
    } finally {
      anon.close();
    }
  });
});

describe("blobs and uploads", () => {
  test("monolithic upload, GET, HEAD and ranges", async () => {
    const digest = await pushBlob(h, "r", "0123456789");
    const get = await h.req(`/v2/r/blobs/${digest}`);
    expect(get.status).toBe(200);
    expect(get.headers.get("docker-content-digest")).toBe(digest);
    expect(await get.text()).toBe("0123456789");
    const head = await h.req(`/v2/r/blobs/${digest}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    const part = await h.req(`/v2/r/blobs/${digest}`, { headers: { range: "bytes=2-5" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 2-5/10");
    expect(await part.text()).toBe("2345");
    const tail = await h.req(`/v2/r/blobs/${digest}`, { headers: { range: "bytes=-3" } });
    expect(await tail.text()).toBe("789");
    const bad = await h.req(`/v2/r/blobs/${digest}`, { headers: { range: "bytes=20-30" } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get("content-range")).toBe("bytes */10");
  });

  test("blobs are shared across repositories; unknown ones are BLOB_UNKNOWN", async () => {
    const digest = await pushBlob(h, "one", "shared");
    expect((await h.req(`/v2/two/blobs/${digest}`)).status).toBe(200);
    const missing = await h.req(`/v2/one/blobs/${sha256("nope")}`);
    expect(missing.status).toBe(404);
    expect(await errorCode(missing)).toBe("BLOB_UNKNOWN");
  });

  test("wrong or unsupported digests are DIGEST_INVALID and leave nothing behind", async () => {
    const wrong = await h.req(`/v2/r/blobs/uploads/?digest=${sha256("other")}`, { method: "POST", body: "content" });
    expect(wrong.status).toBe(400);
    expect(await errorCode(wrong)).toBe("DIGEST_INVALID");
    expect(h.part.registry.blobs.has(sha256("content"))).toBe(false);
    const alg = await h.req(`/v2/r/blobs/uploads/?digest=sha512:${"a".repeat(128)}`, { method: "POST", body: "x" });
    expect(await errorCode(alg)).toBe("DIGEST_INVALID");
    expect((await h.req(`/v2/r/blobs/md5:abc`)).status).toBe(400);
    expect(tmpFiles()).toEqual([]);
  });

  test("chunked upload with Content-Range, status, out-of-order 416, finish", async () => {
    const start = await h.req("/v2/r/blobs/uploads/", { method: "POST" });
    expect(start.status).toBe(202);
    const loc = start.headers.get("location")!;
    expect(loc).toMatch(/^\/v2\/r\/blobs\/uploads\/[0-9a-f-]{36}$/);
    expect(start.headers.get("docker-upload-uuid")).toBe(loc.split("/").at(-1)!);
    const p1 = await h.req(loc, { method: "PATCH", body: "hello ", headers: { "content-range": "0-5", "content-length": "6" } });
    expect(p1.status).toBe(202);
    expect(p1.headers.get("range")).toBe("0-5");
    const gap = await h.req(loc, { method: "PATCH", body: "x", headers: { "content-range": "9-9" } });
    expect(gap.status).toBe(416);
    const status = await h.req(loc);
    expect(status.status).toBe(204);
    expect(status.headers.get("range")).toBe("0-5");
    const p2 = await h.req(loc, { method: "PATCH", body: "world" });
    expect(p2.headers.get("range")).toBe("0-10");
    const digest = sha256("hello world!");
    const fin = await h.req(`${loc}?digest=${digest}`, { method: "PUT", body: "!" });
    expect(fin.status).toBe(201);
    expect(fin.headers.get("location")).toBe(`/v2/r/blobs/${digest}`);
    expect(fin.headers.get("docker-content-digest")).toBe(digest);
    expect(await (await h.req(`/v2/r/blobs/${digest}`)).text()).toBe("hello world!");
    expect((await h.req(loc)).status).toBe(404);
    expect(tmpFiles()).toEqual([]);
  });

  test("finishing with the wrong digest fails and drops the upload", async () => {
    const loc = (await h.req("/v2/r/blobs/uploads/", { method: "POST" })).headers.get("location")!;
    await h.req(loc, { method: "PATCH", body: "abc" });
    const fin = await h.req(`${loc}?digest=${sha256("abd")}`, { method: "PUT" });
    expect(await errorCode(fin)).toBe("DIGEST_INVALID");
    expect(h.part.registry.blobs.has(sha256("abc"))).toBe(false);
    expect(await errorCode(await h.req(loc))).toBe("BLOB_UPLOAD_UNKNOWN");
    expect(tmpFiles()).toEqual([]);
  });

  test("cancel, unknown uploads and uploads of another repository", async () => {
    const loc = (await h.req("/v2/r/blobs/uploads/", { method: "POST" })).headers.get("location")!;
    const uuid = loc.split("/").at(-1)!;
    expect((await h.req(`/v2/other/blobs/uploads/${uuid}`)).status).toBe(404);
    expect((await h.req(loc, { method: "DELETE" })).status).toBe(204);
    expect(await errorCode(await h.req(loc, { method: "PATCH", body: "x" }))).toBe("BLOB_UPLOAD_UNKNOWN");
    expect(tmpFiles()).toEqual([]);
  });

  test("uploads past the size limit are refused with 413", async () => {
    const big = new Uint8Array(1024 * 1024 + 1);
    const mono = await h.req(`/v2/r/blobs/uploads/?digest=${sha256(big)}`, { method: "POST", body: big });
    expect(mono.status).toBe(413);
    expect(await errorCode(mono)).toBe("SIZE_INVALID");
    const loc = (await h.req("/v2/r/blobs/uploads/", { method: "POST" })).headers.get("location")!;
    const chunk = await h.req(loc, { method: "PATCH", body: big });
    expect(chunk.status).toBe(413);
    expect((await h.req(loc)).headers.get("range")).toBe("0-0");
  });

  test("cross-repository mount", async () => {
    const digest = await pushBlob(h, "src/repo", "mount me");
    const res = await h.req(`/v2/dst/repo/blobs/uploads/?mount=${digest}&from=src/repo`, { method: "POST" });
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBe(`/v2/dst/repo/blobs/${digest}`);
    const unknown = await h.req(`/v2/dst/repo/blobs/uploads/?mount=${sha256("absent")}&from=src/repo`, { method: "POST" });
    expect(unknown.status).toBe(202);
  });

  test("blob DELETE only for unreferenced blobs", async () => {
    const img = await pushImage(h, "r", "v1");
    expect((await h.req(`/v2/r/blobs/${img.layer}`, { method: "DELETE" })).status).toBe(405);
    const loose = await pushBlob(h, "r", "loose");
    expect((await h.req(`/v2/r/blobs/${loose}`, { method: "DELETE" })).status).toBe(202);
    expect((await h.req(`/v2/r/blobs/${loose}`)).status).toBe(404);
  });
});

describe("manifests", () => {
  test("PUT, GET and HEAD by tag and by digest", async () => {
    const img = await pushImage(h, "app/web", "v1");
    for (const ref of ["v1", img.digest]) {
      const res = await h.req(`/v2/app/web/manifests/${ref}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/vnd.oci.image.manifest.v1+json");
      expect(res.headers.get("docker-content-digest")).toBe(img.digest);
      expect(await res.text()).toBe(img.body);
      expect((await h.req(`/v2/app/web/manifests/${ref}`, { method: "HEAD" })).status).toBe(200);
    }
    const missing = await h.req("/v2/app/web/manifests/v2");
    expect(await errorCode(missing)).toBe("MANIFEST_UNKNOWN");
  });

  test("manifest PUT by digest must match the content", async () => {
    const img = await pushImage(h, "r", "v1");
    const put = (ref: string) => h.req(`/v2/r/manifests/${ref}`, { method: "PUT", body: img.body, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
    expect((await put(img.digest)).status).toBe(201);
    expect(await errorCode(await put(sha256("other")))).toBe("DIGEST_INVALID");
  });

  test("missing blobs are MANIFEST_BLOB_UNKNOWN; nothing is recorded", async () => {
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256("no config"), size: 9 },
      layers: [],
    });
    const res = await h.req("/v2/r/manifests/v1", { method: "PUT", body, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("MANIFEST_BLOB_UNKNOWN");
    expect((await h.req("/v2/r/manifests/v1")).status).toBe(404);
  });

  test("malformed, mismatched and oversized manifests are MANIFEST_INVALID", async () => {
    const put = (body: string, type = "application/vnd.oci.image.manifest.v1+json") => h.req("/v2/r/manifests/v1", { method: "PUT", body, headers: { "content-type": type } });
    expect(await errorCode(await put("{not json"))).toBe("MANIFEST_INVALID");
    expect(await errorCode(await put(JSON.stringify({ schemaVersion: 2, layers: "no" })))).toBe("MANIFEST_INVALID");
    expect(await errorCode(await put(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [] })))).toBe("MANIFEST_INVALID");
    expect(await errorCode(await put(JSON.stringify({ schemaVersion: 1, name: "x" }), "application/vnd.docker.distribution.manifest.v1+json"))).toBe("MANIFEST_INVALID");
    const huge = await put(JSON.stringify({ schemaVersion: 2, pad: "x".repeat(5000) }));
    expect(huge.status).toBe(413);
    expect(await errorCode(huge)).toBe("MANIFEST_INVALID");
    expect(await errorCode(await h.req("/v2/r/manifests/bad!tag", { method: "PUT", body: "{}" }))).toBe("MANIFEST_INVALID");
  });

  test("image index needs its children in the repository; Docker media types work", async () => {
    const child = await pushImage(h, "multi", "child");
    const index = (digests: string[], size = Buffer.byteLength(child.body)) =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.docker.distribution.manifest.list.v2+json",
        manifests: digests.map((d) => ({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: d, size, platform: { os: "linux", architecture: "amd64" } })),
      });
    const put = (body: string) => h.req("/v2/multi/manifests/list", { method: "PUT", body, headers: { "content-type": "application/vnd.docker.distribution.manifest.list.v2+json" } });
    expect(await errorCode(await put(index([sha256("absent")])))).toBe("MANIFEST_BLOB_UNKNOWN");
    // Issue 13: a descriptor whose size is not the child's is refused.
    expect(await errorCode(await put(index([child.digest], 100)))).toBe("MANIFEST_INVALID");
    expect((await put(index([child.digest]))).status).toBe(201);
    const got = await h.req("/v2/multi/manifests/list");
    expect(got.headers.get("content-type")).toBe("application/vnd.docker.distribution.manifest.list.v2+json");
  });

  test("DELETE by tag removes the tag; by digest removes the manifest", async () => {
    const img = await pushImage(h, "r", "v1");
    const tags = async () => ((await (await h.req("/v2/r/tags/list")).json()) as { tags: string[] }).tags;
    await h.req(`/v2/r/manifests/v2`, { method: "PUT", body: img.body, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
    expect(await tags()).toEqual(["v1", "v2"]);
    expect((await h.req("/v2/r/manifests/v1", { method: "DELETE" })).status).toBe(202);
    expect(await tags()).toEqual(["v2"]);
    expect((await h.req(`/v2/r/manifests/${img.digest}`, { method: "DELETE" })).status).toBe(202);
    expect((await h.req(`/v2/r/manifests/v2`)).status).toBe(404);
    expect((await h.req(`/v2/r/manifests/${img.digest}`, { method: "DELETE" })).status).toBe(404);
  });

  test("subject is echoed in OCI-Subject and listed by the referrers API", async () => {
    const img = await pushImage(h, "r", "v1");
    const cfg = await pushBlob(h, "r", "{}");
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: "application/vnd.example.sbom",
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: cfg, size: 2 },
      layers: [],
      subject: { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: img.digest, size: img.body.length },
    });
    const res = await h.req(`/v2/r/manifests/${sha256(body)}`, { method: "PUT", body, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
    expect(res.status).toBe(201);
    expect(res.headers.get("oci-subject")).toBe(img.digest);
    const refs = (await (await h.req(`/v2/r/referrers/${img.digest}`)).json()) as { manifests: { digest: string; artifactType: string }[] };
    expect(refs.manifests).toEqual([expect.objectContaining({ digest: sha256(body), artifactType: "application/vnd.example.sbom" })]);
  });
});

describe("names and listings", () => {
  test("invalid repository names are NAME_INVALID", async () => {
    // URLs normalise a literal `/../` before it reaches us; `..` inside a component is the grammar's job.
    for (const name of ["Upper/case", "a/..b", "a//b", "-lead", "a..b", "trail-", `${"a".repeat(256)}`]) {
      const res = await h.req(`/v2/${name}/tags/list`);
      expect([name, res.status]).toEqual([name, 400]);
      expect(await errorCode(res)).toBe("NAME_INVALID");
    }
  });

  test("tags/list pagination with n, last and Link", async () => {
    for (const tag of ["c", "a", "b", "d"]) await pushImage(h, "p", tag, "same-layer");
    const first = await h.req("/v2/p/tags/list?n=2");
    expect(await first.json()).toEqual({ name: "p", tags: ["a", "b"] });
    expect(first.headers.get("link")).toBe('</v2/p/tags/list?n=2&last=b>; rel="next"');
    const second = await h.req("/v2/p/tags/list?n=2&last=b");
    expect(await second.json()).toEqual({ name: "p", tags: ["c", "d"] });
    expect(second.headers.get("link")).toBeNull();
    expect(await (await h.req("/v2/p/tags/list")).json()).toEqual({ name: "p", tags: ["a", "b", "c", "d"] });
    expect(await errorCode(await h.req("/v2/nothing/here/tags/list"))).toBe("NAME_UNKNOWN");
  });

  test("_catalog pagination", async () => {
    for (const repo of ["b/x", "a/x", "c/x"]) await pushImage(h, repo, "v1", "l");
    const first = await h.req("/v2/_catalog?n=2");
    expect(await first.json()).toEqual({ repositories: ["a/x", "b/x"] });
    expect(first.headers.get("link")).toBe('</v2/_catalog?n=2&last=b%2Fx>; rel="next"');
    expect(await (await h.req("/v2/_catalog?n=2&last=b/x")).json()).toEqual({ repositories: ["c/x"] });
  });
});
