import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cleanupTempDirs } from "../support/tmp.ts";
import { harness, pushImage, type Harness } from "./harness.ts";

/**
 * HEAD answers what GET would, without the body, over a real socket: the
 * true Content-Length, Content-Type and Docker-Content-Digest on every path,
 * for every way of authenticating. containerd resolves tags with HEAD and
 * trusts that length ("reports content size of zero" otherwise).
 */
afterAll(cleanupTempDirs);

let h: Harness;
let server: ReturnType<typeof Bun.serve>;
let base: string;
let img: Awaited<ReturnType<typeof pushImage>>;
let bearer: string;

beforeAll(async () => {
  h = await harness({ anonymousPull: true });
  img = await pushImage(h, "demo/x", "v1", "layer bytes of some length");
  const routes = h.part.routes!;
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => routes.fetch(req) });
  base = `http://127.0.0.1:${server.port}`;
  const t = await fetch(`${base}/v2/token?service=eirini-registry&scope=repository:demo/x:pull`, { headers: { authorization: h.pullAuth } });
  bearer = `Bearer ${((await t.json()) as { token: string }).token}`;
});
afterAll(() => {
  server?.stop(true);
  h?.close();
});

async function compare(path: string, auth: string | undefined, extra: Record<string, string> = {}) {
  const headers = { ...extra, ...(auth ? { authorization: auth } : {}) };
  const get = await fetch(`${base}${path}`, { headers });
  const body = new Uint8Array(await get.arrayBuffer());
  const head = await fetch(`${base}${path}`, { method: "HEAD", headers });
  expect(head.status).toBe(get.status);
  expect(head.headers.get("content-length")).toBe(String(body.byteLength));
  expect(head.headers.get("content-type")).toBe(get.headers.get("content-type"));
  expect(head.headers.get("docker-content-digest")).toBe(get.headers.get("docker-content-digest"));
  expect((await head.arrayBuffer()).byteLength).toBe(0);
  return { head, body };
}

describe("HEAD over a socket", () => {
  const modes = () => [
    ["admin (Basic)", h.adminAuth],
    ["pull-only account (Basic)", h.pullAuth],
    ["bearer token", bearer],
    ["anonymous (anonymousPull on)", undefined],
  ] as const;

  test("manifests by tag and by digest, blobs, ranges: every auth mode", async () => {
    for (const [, auth] of modes()) {
      for (const ref of ["v1", img.digest]) {
        const { head, body } = await compare(`/v2/demo/x/manifests/${ref}`, auth, { accept: "application/vnd.oci.image.manifest.v1+json" });
        expect(head.status).toBe(200);
        expect(Number(head.headers.get("content-length"))).toBeGreaterThan(0);
        expect(head.headers.get("docker-content-digest")).toBe(img.digest);
        expect(head.headers.get("content-type")).toBe("application/vnd.oci.image.manifest.v1+json");
        expect(new TextDecoder().decode(body)).toBe(img.body);
      }
      for (const digest of [img.layer, img.config]) {
        const { head } = await compare(`/v2/demo/x/blobs/${digest}`, auth);
        expect(head.status).toBe(200);
        expect(head.headers.get("docker-content-digest")).toBe(digest);
      }
      // A manifest fetched through the blobs endpoint.
      expect((await compare(`/v2/demo/x/blobs/${img.digest}`, auth)).head.headers.get("content-type")).toBe("application/vnd.oci.image.manifest.v1+json");
      const ranged = await compare(`/v2/demo/x/blobs/${img.layer}`, auth, { range: "bytes=2-5" });
      expect(ranged.head.status).toBe(206);
      expect(ranged.head.headers.get("content-length")).toBe("4");
    }
  });

  test("errors on HEAD: the status and length of the GET, no body", async () => {
    const unknown = await compare("/v2/demo/x/manifests/nope", h.adminAuth);
    expect(unknown.head.status).toBe(404);
    const denied = await compare("/v2/demo/x/manifests/v1", "Basic " + btoa("admin:wrong"));
    expect(denied.head.status).toBe(401);
    expect(denied.head.headers.get("www-authenticate")).toContain("Bearer realm=");
  });

  test("ping", async () => {
    const { head } = await compare("/v2/", h.adminAuth);
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("2");
  });
});

describe("HEAD on the listings", () => {
  test("tags/list and _catalog: the GET's length and type, no body", async () => {
    for (const path of ["/v2/demo/x/tags/list", "/v2/_catalog"]) {
      const { head, body } = await compare(path, h.adminAuth);
      expect(head.status).toBe(200);
      expect(Number(head.headers.get("content-length"))).toBe(body.byteLength);
      expect(body.byteLength).toBeGreaterThan(0);
    }
  });
});
