import { rmSync } from "node:fs";
import { join } from "node:path";
import { Hono, type Context } from "hono";
import { deriveKey, parseBearer, signJwt, TokenError, verifyJwt } from "../../auth/index.ts";
import { BodyTooLargeError, receiveBody } from "./receive-body.ts";

/**
 * The appliance's side of a staging pod's transfers, served under
 * `/kube-staging/<staging guid>/`:
 * - `GET input`: the prepared staging input (.tgz);
 * - `PUT result`: the lifecycle's outputs (.tgz); 200 with staging_info.yml
 *   to go on, 409 when staging failed (the pod stops);
 * - `PUT droplet` with `X-Droplet-Digest: sha256:<hex>`: the droplet .tgz,
 *   hashed while it streams to the executor's droplet path; a mismatch is 400.
 * Every request needs `Authorization: Bearer <token>`: an HS256 JWT signed
 * with `deriveKey(tokenKey, "staging")`, `sub` = the staging guid, expiring
 * with the staging. Only stagings that are running have sessions.
 */
export const TRANSFER_PREFIX = "/kube-staging";

export interface TransferSession {
  /** The prepared input archive the pod downloads. */
  inputPath: string;
  /** A directory for uploads (the executor's per-staging dir). */
  uploadDir: string;
  maxBytes: number;
  /** The pod's result archive: resolves to staging_info.yml text, or null when staging failed. */
  onResult(tarPath: string): Promise<string | null>;
  dropletPath: string;
  onDroplet(d: { digest: string; size: number }): void;
  onUploadError(message: string): void;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export class StagingTransfers {
  private readonly key: string;
  private readonly sessions = new Map<string, TransferSession & { resulted: boolean; dropleted: boolean }>();

  constructor(tokenKey: string, private readonly nowSec: () => number = () => Math.floor(Date.now() / 1000)) {
    this.key = deriveKey(tokenKey, "staging");
  }

  /** A token for one staging's transfers, valid for `ttlSec`. */
  token(stagingGuid: string, ttlSec: number): string {
    const iat = this.nowSec();
    return signJwt({ sub: stagingGuid, scope: "staging.transfer", iat, exp: iat + Math.max(1, Math.ceil(ttlSec)) }, this.key);
  }

  /** Opens a staging's transfers; the returned function closes them. */
  open(stagingGuid: string, s: TransferSession): () => void {
    const entry = { ...s, resulted: false, dropleted: false };
    this.sessions.set(stagingGuid, entry);
    return () => {
      if (this.sessions.get(stagingGuid) === entry) this.sessions.delete(stagingGuid);
    };
  }

  /** How many stagings have open transfers (0 when none runs). */
  get openSessions(): number {
    return this.sessions.size;
  }

  private authorize(c: Context): { guid: string; s: TransferSession & { resulted: boolean; dropleted: boolean } } | Response {
    const guid = c.req.param("guid") ?? "";
    const token = parseBearer(c.req.header("authorization"));
    if (!token) return c.json({ error: "a bearer token is required" }, 401);
    try {
      const claims = verifyJwt(token, this.key, this.nowSec());
      if (claims.sub !== guid || claims.scope !== "staging.transfer") return c.json({ error: "the token is not for this staging" }, 403);
    } catch (err) {
      if (err instanceof TokenError) return c.json({ error: `invalid token: ${err.message}` }, 401);
      throw err;
    }
    const s = this.sessions.get(guid);
    if (!s) return c.json({ error: "no staging is running with this guid" }, 404);
    return { guid, s };
  }

  routes(): Hono {
    const app = new Hono();
    app.get(`${TRANSFER_PREFIX}/:guid/input`, (c) => {
      const a = this.authorize(c);
      if (a instanceof Response) return a;
      return new Response(Bun.file(a.s.inputPath), { headers: { "content-type": "application/gzip" } });
    });
    app.put(`${TRANSFER_PREFIX}/:guid/result`, async (c) => {
      const a = this.authorize(c);
      if (a instanceof Response) return a;
      if (a.s.resulted) return c.json({ error: "the result was already uploaded" }, 409);
      a.s.resulted = true;
      const path = join(a.s.uploadDir, "result.tgz");
      try {
        await receiveBody(c.req.raw.body, path, a.s.maxBytes);
        const info = await a.s.onResult(path);
        return info === null ? c.json({ error: "staging failed" }, 409) : c.text(info);
      } catch (err) {
        const msg = err instanceof BodyTooLargeError ? `the staging result ${err.message}` : `the staging result was not received: ${(err as Error).message}`;
        a.s.onUploadError(msg);
        return c.json({ error: msg }, err instanceof BodyTooLargeError ? 413 : 400);
      } finally {
        rmSync(path, { force: true });
      }
    });
    app.put(`${TRANSFER_PREFIX}/:guid/droplet`, async (c) => {
      const a = this.authorize(c);
      if (a instanceof Response) return a;
      const expected = c.req.header("x-droplet-digest") ?? "";
      if (!DIGEST.test(expected)) return c.json({ error: "X-Droplet-Digest must be sha256:<64 hex digits>" }, 400);
      if (!a.s.resulted || a.s.dropleted) return c.json({ error: "the droplet is not expected now" }, 409);
      a.s.dropleted = true;
      try {
        const got = await receiveBody(c.req.raw.body, a.s.dropletPath, a.s.maxBytes);
        if (got.digest !== expected) {
          rmSync(a.s.dropletPath, { force: true });
          const msg = `the uploaded droplet's digest is ${got.digest}, not the announced ${expected}`;
          a.s.onUploadError(msg);
          return c.json({ error: msg }, 400);
        }
        a.s.onDroplet(got);
        return c.body(null, 204);
      } catch (err) {
        const msg = err instanceof BodyTooLargeError ? `the droplet ${err.message}` : `the droplet was not received: ${(err as Error).message}`;
        a.s.onUploadError(msg);
        return c.json({ error: msg }, err instanceof BodyTooLargeError ? 413 : 400);
      }
    });
    return app;
  }
}
