import { rmSync } from "node:fs";
import { Hono, type Context } from "hono";
import { deriveKey, parseBearer, signJwt, TokenError, verifyJwt } from "../../auth/index.ts";
import { addRuntimeArchive } from "./archive.ts";
import { RuntimeError } from "./errors.ts";
import type { RuntimeProvider } from "./provider.ts";

/** Where the runtime routes live on the appliance's one port. */
export const RUNTIMES_PREFIX = "/st8ge/runtimes";

const SCOPE = "st8ge.runtimes";
const ADMIN_SCOPE = "cloud_controller.admin";

/**
 * Staging tokens for runtimes: HS256, key derived from the appliance's
 * token key for this purpose only, `sub` = the staging guid. A buildpack
 * holding one can only read runtimes, and only until the staging's deadline.
 */
export class RuntimeTokens {
  private readonly key: string;
  constructor(tokenKey: string, private readonly nowSec: () => number = () => Math.floor(Date.now() / 1000)) {
    this.key = deriveKey(tokenKey, "st8ge-runtimes");
  }
  issue(stagingGuid: string, ttlSec: number): string {
    const iat = this.nowSec();
    return signJwt({ sub: stagingGuid, scope: SCOPE, aud: [SCOPE], iat, exp: iat + Math.max(1, Math.ceil(ttlSec)) }, this.key);
  }
  check(token: string): boolean {
    try {
      return verifyJwt(token, this.key, this.nowSec(), SCOPE).scope === SCOPE;
    } catch (err) {
      if (err instanceof TokenError) return false;
      throw err;
    }
  }
}

export interface RuntimeRoutesOptions {
  provider: RuntimeProvider;
  tokens: RuntimeTokens;
  /** The appliance's token key, to check admin (UAA access) tokens. */
  tokenKey: string;
  maxUploadBytes?: number;
  nowSec?: () => number;
}

/**
 * - `GET  resolve?name=&version=&stack=` (staging token): `name version sha256`
 *   as one text line, or 404 with the one-line reason (the buildpack prints it);
 * - `GET  files/<sha256>` (staging token): the archive;
 * - `GET  /` and `POST /` (admin UAA token): list as JSON; add an offline
 *   archive sent as the body (the API form of `eirini runtimes add`).
 */
export function runtimeRoutes(o: RuntimeRoutesOptions): Hono {
  const app = new Hono();
  const uaaKey = deriveKey(o.tokenKey, "uaa");
  const nowSec = o.nowSec ?? (() => Math.floor(Date.now() / 1000));
  const staging = (c: Context): Response | null => {
    const t = parseBearer(c.req.header("authorization"));
    if (!t || !o.tokens.check(t)) return c.text("a valid staging token is required\n", 401);
    return null;
  };
  const admin = (c: Context): Response | null => {
    const t = parseBearer(c.req.header("authorization"));
    if (!t) return c.json({ error: "an admin bearer token is required" }, 401);
    try {
      const claims = verifyJwt(t, uaaKey, nowSec(), "cloud_controller");
      const scopes = Array.isArray(claims.scope) ? (claims.scope as string[]) : [];
      if (!scopes.includes(ADMIN_SCOPE)) return c.json({ error: "only admins manage runtimes" }, 403);
      return null;
    } catch (err) {
      if (err instanceof TokenError) return c.json({ error: `invalid token: ${err.message}` }, 401);
      throw err;
    }
  };

  app.get(`${RUNTIMES_PREFIX}/resolve`, async (c) => {
    const denied = staging(c);
    if (denied) return denied;
    const name = c.req.query("name") ?? "";
    const version = c.req.query("version") ?? "";
    const stack = c.req.query("stack") ?? "";
    if (!name || !stack) return c.text("name and stack are required\n", 400);
    try {
      const dep = await o.provider.resolve(name, version, stack);
      return c.text(`${dep.name} ${dep.version} ${dep.sha256}\n`);
    } catch (err) {
      // 404: no runtime of that name for the stack at all; 409: some, but none in the wanted range; 422: a bad range.
      if (err instanceof RuntimeError) return c.text(`${err.message}\n`, err.code === "DownloadFailed" ? 502 : err.code === "RuntimeNotFound" ? 404 : err.code === "InvalidRuntime" ? 422 : 409);
      throw err;
    }
  });

  app.get(`${RUNTIMES_PREFIX}/files/:sha`, (c) => {
    const denied = staging(c);
    if (denied) return denied;
    const sha = c.req.param("sha");
    if (!/^[0-9a-f]{64}$/.test(sha) || !o.provider.store.blobs.has(`sha256:${sha}`)) return c.text("no such runtime archive\n", 404);
    return new Response(Bun.file(o.provider.store.path({ sha256: sha })), { headers: { "content-type": "application/gzip" } });
  });

  app.get(RUNTIMES_PREFIX, (c) => {
    const denied = admin(c);
    if (denied) return denied;
    return c.json({ resources: o.provider.store.list() });
  });

  app.post(RUNTIMES_PREFIX, async (c) => {
    const denied = admin(c);
    if (denied) return denied;
    const tmp = o.provider.store.blobs.tempPath("upload");
    try {
      const max = o.maxUploadBytes ?? 8 * 1024 ** 3;
      const declared = Number(c.req.header("content-length") ?? "0");
      if (declared > max) return c.json({ error: `the archive is larger than ${max} bytes` }, 413);
      await Bun.write(tmp, new Response(c.req.raw.body));
      const added = await addRuntimeArchive(o.provider.store, tmp);
      return c.json({ resources: added }, 201);
    } catch (err) {
      if (err instanceof RuntimeError) return c.json({ error: err.message, code: err.code }, 422);
      throw err;
    } finally {
      rmSync(tmp, { force: true });
    }
  });
  return app;
}
