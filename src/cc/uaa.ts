import { Hono } from "hono";
import { parseBasicAuth, parseBearer, signJwt, TokenError, verifyJwt } from "../auth/index.ts";
import { LoginRefused, type TokenStore, type UserRepo } from "../store/index.ts";
import type { CcDeps, CcEnv, CcUser } from "./deps.ts";
import { readText } from "./body.ts";
import { invalidToken, notAuthenticated, notAuthorized } from "./errors.ts";

/**
 * A UAA-compatible token endpoint at `<base>/uaa` (the root document's
 * `login` and `uaa` links): `GET /uaa/login` (links + prompts, api/uaa/info.go
 * and prompts.go) and `POST /uaa/oauth/token` (form-encoded password and
 * refresh_token grants for client `cf` with an empty secret, api/uaa/auth.go
 * and refresh_token.go). Access tokens are HS256 JWTs the CLI decodes for
 * `user_name` and `exp`; refresh tokens use a separate derived key, so one
 * can never pass for the other.
 */
export const ACCESS_TTL_SEC = 3600;
export const REFRESH_TTL_SEC = 30 * 24 * 3600;
const CLIENTS = new Map([["cf", ""]]);

interface TokenKeys {
  access: string;
  refresh: string;
}

/** The caller's address, as the server saw it (request-guard passes it in the env); for the login queue's fairness. */
const clientOf = (env: unknown) => (env as { clientAddress?: string } | undefined)?.clientAddress ?? "unknown";

export function uaaRoutes(deps: CcDeps, users: UserRepo, tokens: TokenStore, keys: TokenKeys, nowSec: () => number): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const uaaError = (status: 400 | 401 | 429, error: string, description: string) =>
    new Response(JSON.stringify({ error, error_description: description }), { status, headers: { "content-type": "application/json" } });

  r.get("/uaa/login", (c) => {
    const base = `${deps.baseUrl()}/uaa`;
    return c.json({
      app: { version: "4.30.0" },
      links: { uaa: base, passwd: "/forgot_password", login: base, register: "/create_account" },
      zone_name: "uaa",
      entityID: "eirini",
      commit_id: "eirini",
      idpDefinitions: {},
      prompts: { username: ["text", "Username"], password: ["password", "Password"] },
      timestamp: new Date(nowSec() * 1000).toISOString(),
    });
  });

  r.post("/uaa/oauth/token", async (c) => {
    const form = new URLSearchParams(await readText(c));
    const basic = parseBasicAuth(c.req.header("authorization"));
    const clientId = basic?.username ?? form.get("client_id") ?? "";
    const clientSecret = basic?.password ?? form.get("client_secret") ?? "";
    if (CLIENTS.get(clientId) !== clientSecret) return uaaError(401, "invalid_client", "Bad credentials");
    const grant = form.get("grant_type");
    let user: CcUser | null = null;
    let chain: string | undefined;
    if (grant === "password") {
      let found;
      try {
        found = await users.verify(form.get("username") ?? "", form.get("password") ?? "", clientOf(c.env));
      } catch (err) {
        if (!(err instanceof LoginRefused)) throw err;
        // UAA answers a locked account with 401 "unauthorized"; a flooding client gets 429.
        return err.reason === "locked" ? uaaError(401, "unauthorized", err.message) : uaaError(429, "too_many_requests", err.message);
      }
      if (!found) return uaaError(401, "unauthorized", "Bad credentials");
      user = { guid: found.guid, name: found.username, scopes: found.scopes };
    } else if (grant === "refresh_token") {
      try {
        const claims = verifyJwt(form.get("refresh_token") ?? "", keys.refresh, nowSec(), clientId);
        // Rotation: each refresh token works once; a second use (a copy in other hands) ends the whole session.
        const spent = tokens.use(String(claims.jti ?? ""), nowSec());
        if (!spent.ok) return uaaError(401, "invalid_token", `Invalid refresh token (${spent.reason})`);
        const found = users.findByGuid(spent.userGuid);
        if (!found || String(claims.user_id ?? "") !== found.guid) return uaaError(401, "invalid_token", "Invalid refresh token: user no longer exists");
        user = { guid: found.guid, name: found.username, scopes: found.scopes };
        chain = spent.chain;
      } catch (err) {
        if (err instanceof TokenError) return uaaError(401, "invalid_token", `Invalid refresh token (${err.reason})`);
        throw err;
      }
    } else {
      return uaaError(400, "unsupported_grant_type", `Unsupported grant type: ${grant ?? "none"}`);
    }
    const issued = issueTokens(deps, user, clientId, keys, nowSec(), chain);
    if (grant === "password") tokens.prune(nowSec());
    tokens.issued(issued.refreshJti, issued.chain, user.guid, nowSec() + REFRESH_TTL_SEC);
    const { refreshJti: _r, chain: _c, ...body } = issued;
    return c.json(body);
  });

  // Logout (RFC 7009 token revocation): either token of a session ends the session (its refresh chain).
  r.post("/uaa/oauth/revoke", async (c) => {
    const form = new URLSearchParams(await readText(c));
    const token = form.get("token") ?? "";
    for (const [key, aud] of [[keys.refresh, "cf"], [keys.access, "cloud_controller"]] as const) {
      try {
        const claims = verifyJwt(token, key, nowSec(), aud);
        if (typeof claims.sid === "string") tokens.revokeChain(claims.sid, nowSec());
        break;
      } catch (err) {
        if (!(err instanceof TokenError)) throw err;
      }
    }
    // RFC 7009: an unknown or already invalid token is not an error.
    return c.body(null, 200);
  });
  return r;
}

/**
 * An access and a refresh token for one session (`sid`, the refresh chain):
 * a new chain on login, the same chain on refresh.
 */
export function issueTokens(deps: Pick<CcDeps, "baseUrl" | "newGuid">, user: CcUser, clientId: string, keys: TokenKeys, now: number, chain?: string) {
  const jti = deps.newGuid().replaceAll("-", "");
  const sid = chain ?? deps.newGuid().replaceAll("-", "");
  const common = { user_id: user.guid, user_name: user.name, sub: user.guid, client_id: clientId, cid: clientId, origin: "uaa", zid: "uaa", iat: now, iss: `${deps.baseUrl()}/uaa/oauth/token`, grant_type: "password", sid };
  const access = signJwt({ ...common, jti, scope: user.scopes, aud: ["cloud_controller", clientId], exp: now + ACCESS_TTL_SEC }, keys.access);
  const refreshJti = `${jti}-r`;
  const refresh = signJwt({ ...common, jti: refreshJti, scope: user.scopes, aud: [clientId], exp: now + REFRESH_TTL_SEC }, keys.refresh);
  return { access_token: access, token_type: "bearer", id_token: access, refresh_token: refresh, expires_in: ACCESS_TTL_SEC - 1, scope: user.scopes.join(" "), jti, refreshJti, chain: sid };
}

const READ = ["cloud_controller.admin", "cloud_controller.admin_read_only", "cloud_controller.global_auditor", "cloud_controller.read"];
const WRITE = ["cloud_controller.admin", "cloud_controller.write"];

/**
 * Resolves the bearer token to a user or throws the CF error the CLI
 * expects: none -> 401 CF-NotAuthenticated; expired, forged or signed with
 * another key -> 401 CF-InvalidAuthToken (the CLI then refreshes once).
 */
export function authenticate(header: string | undefined, users: UserRepo, key: string, nowSec: number, method: string, tokens?: TokenStore): CcUser {
  const token = parseBearer(header);
  if (!header) throw notAuthenticated();
  if (!token) throw invalidToken();
  let claims;
  try {
    claims = verifyJwt(token, key, nowSec, "cloud_controller");
  } catch (err) {
    if (err instanceof TokenError) throw invalidToken();
    throw err;
  }
  // A logged-out (revoked) session's access tokens die with it.
  if (tokens && typeof claims.sid === "string" && tokens.isRevoked(claims.sid)) throw invalidToken();
  const found = users.findByGuid(String(claims.user_id ?? ""));
  if (!found) throw invalidToken();
  const scopes = Array.isArray(claims.scope) ? (claims.scope as string[]) : [];
  const needed = method === "GET" || method === "HEAD" ? READ : WRITE;
  if (!scopes.some((s) => needed.includes(s))) throw notAuthorized();
  return { guid: found.guid, name: found.username, scopes };
}
