import { Hono } from "hono";
import type { Access } from "./auth.ts";
import { OciError } from "./errors.ts";
import { API_VERSION, bodyOrHead, toOciError, type RegistryRequest } from "./http-common.ts";
import { assertRepositoryName } from "./names.ts";
import type { Registry } from "./registry.ts";
import { deleteBlob, getBlob } from "./routes-blobs.ts";
import { catalog, listTags, referrers } from "./routes-lists.ts";
import { deleteManifest, getManifest, putManifest } from "./routes-manifests.ts";
import { token } from "./routes-token.ts";
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from "./routes-uploads.ts";

type Route =
  | { kind: "manifest"; name: string; ref: string }
  | { kind: "blob"; name: string; digest: string }
  | { kind: "uploads"; name: string }
  | { kind: "upload"; name: string; uuid: string }
  | { kind: "tags"; name: string }
  | { kind: "referrers"; name: string; digest: string };

// Repository names contain slashes, so routes match from the right.
const PATTERNS: [RegExp, (m: RegExpExecArray) => Route][] = [
  [/^\/v2\/(.+)\/manifests\/([^/]+)$/, (m) => ({ kind: "manifest", name: m[1]!, ref: m[2]! })],
  [/^\/v2\/(.+)\/blobs\/uploads\/?$/, (m) => ({ kind: "uploads", name: m[1]! })],
  [/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, (m) => ({ kind: "upload", name: m[1]!, uuid: m[2]! })],
  [/^\/v2\/(.+)\/blobs\/([^/]+)$/, (m) => ({ kind: "blob", name: m[1]!, digest: m[2]! })],
  [/^\/v2\/(.+)\/tags\/list$/, (m) => ({ kind: "tags", name: m[1]! })],
  [/^\/v2\/(.+)\/referrers\/([^/]+)$/, (m) => ({ kind: "referrers", name: m[1]!, digest: m[2]! })],
];

function match(path: string): Route | null {
  for (const [re, make] of PATTERNS) {
    const m = re.exec(path);
    if (m) return make(m);
  }
  return null;
}

const notAllowed = (method: string) => new OciError("UNSUPPORTED", `method ${method} is not allowed here`, 405);

/** The access a request needs: pull to read, pull+push to write, delete to delete. */
function needed(route: Route, method: string): Access {
  const read = method === "GET" || method === "HEAD";
  const actions = read ? ["pull"] : method === "DELETE" && (route.kind === "manifest" || route.kind === "blob") ? ["delete"] : ["pull", "push"];
  return { type: "repository", name: route.name, actions };
}

async function dispatch(r: RegistryRequest, route: Route, method: string): Promise<Response> {
  const read = method === "GET" || method === "HEAD";
  switch (route.kind) {
    case "manifest":
      if (read) return getManifest(r, route.ref);
      if (method === "PUT") return putManifest(r, route.ref);
      if (method === "DELETE") return deleteManifest(r, route.ref);
      break;
    case "blob":
      if (read) return getBlob(r, route.digest);
      if (method === "DELETE") return deleteBlob(r, route.digest);
      break;
    case "uploads":
      if (method === "POST") {
        return startUpload(r, async (from) => {
          try {
            assertRepositoryName(from);
            await r.registry.auth.check(r.req.headers.get("authorization"), { type: "repository", name: from, actions: ["pull"] }, "");
            return true;
          } catch {
            return false;
          }
        });
      }
      break;
    case "upload":
      if (method === "PATCH") return patchUpload(r, route.uuid);
      if (method === "PUT") return finishUpload(r, route.uuid);
      if (method === "GET") return uploadStatus(r, route.uuid);
      if (method === "DELETE") return cancelUpload(r, route.uuid);
      break;
    case "tags":
      if (read) return listTags(r);
      break;
    case "referrers":
      if (read) return referrers(r, route.digest);
      break;
  }
  throw notAllowed(method);
}

function failed(registry: Registry, req: Request, err: unknown): Response {
  const oci = toOciError(err);
  if (oci.status >= 500) registry.logger.error("registry request failed", { method: req.method, url: req.url, error: err });
  return oci.toResponse();
}

/**
 * Handles one `/v2/...` request end to end: routing, authentication (Basic or
 * bearer; 401 with a Bearer challenge pointing at `/v2/token`), and the spec's
 * error bodies. Pulls whose credentials are already verified are answered
 * synchronously (no promise per request), which roughly doubles manifest GETs/s.
 */
export function handleRegistry(registry: Registry, req: Request): Response | Promise<Response> {
  const method = req.method;
  if (method === "GET" || method === "HEAD") {
    try {
      const url = new URL(req.url);
      const route = match(url.pathname);
      if (route && (route.kind === "manifest" || route.kind === "blob")) {
        assertRepositoryName(route.name);
        if (registry.auth.checkSync(req.headers.get("authorization"), needed(route, method), `${url.origin}/v2/token`)) {
          const r = { req, url, registry, name: route.name };
          return route.kind === "manifest" ? getManifest(r, route.ref) : getBlob(r, route.digest);
        }
      }
    } catch (err) {
      return failed(registry, req, err);
    }
  }
  return handleAsync(registry, req);
}

async function handleAsync(registry: Registry, req: Request): Promise<Response> {
  const res = await answer(registry, req);
  return req.method === "HEAD" ? headOf(res) : res;
}

/** A HEAD answer for a listing (tags, catalog, referrers): the GET's headers and true length, no body. */
async function headOf(res: Response): Promise<Response> {
  if (res.headers.has("content-length") && !res.body) return res;
  const length = res.headers.get("content-length") ?? String((await res.arrayBuffer()).byteLength);
  const headers = new Headers(res.headers);
  headers.set("Content-Length", length);
  return new Response(null, { status: res.status, statusText: res.statusText, headers });
}

async function answer(registry: Registry, req: Request): Promise<Response> {
  const url = new URL(req.url);
  const path = url.pathname;
  const method = req.method;
  const realm = `${url.origin}/v2/token`;
  try {
    if (path === "/v2/token") {
      if (method !== "GET" && method !== "POST") throw notAllowed(method);
      return await token(req, url, registry);
    }
    if (path === "/v2/" || path === "/v2") {
      if (method !== "GET" && method !== "HEAD") throw notAllowed(method);
      await registry.auth.check(req.headers.get("authorization"), null, realm);
      return bodyOrHead(req, 200, { ...API_VERSION, "Content-Type": "application/json" }, new TextEncoder().encode("{}"), 2);
    }
    if (path === "/v2/_catalog") {
      if (method !== "GET" && method !== "HEAD") throw notAllowed(method);
      await registry.auth.check(req.headers.get("authorization"), { type: "registry", name: "catalog", actions: ["*"] }, realm);
      return catalog({ req, url, registry });
    }
    const route = match(path);
    if (!route) throw new OciError("NAME_UNKNOWN", "no such registry endpoint", 404, { path });
    assertRepositoryName(route.name);
    await registry.auth.check(req.headers.get("authorization"), needed(route, method), realm);
    return await dispatch({ req, url, registry, name: route.name }, route, method);
  } catch (err) {
    return failed(registry, req, err);
  }
}

/** hono routes for `/v2/*`, mounted into the appliance's one server. */
export function registryRoutes(registry: Registry): Hono {
  const app = new Hono();
  app.all("/v2", (c) => handleRegistry(registry, c.req.raw));
  app.all("/v2/*", (c) => handleRegistry(registry, c.req.raw));
  return app;
}
