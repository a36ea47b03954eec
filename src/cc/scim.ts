import { Hono } from "hono";
import { z } from "zod";
import type { User, UserRepo } from "../store/index.ts";
import type { CcDeps, CcEnv, CcUser } from "./deps.ts";
import { CfApiError } from "./errors.ts";

/**
 * UAA's SCIM user endpoints under `<base>/uaa` as the cf CLI calls them
 * (api/uaa/user.go): `POST /Users` (cf create-user), `GET /Users?filter=`
 * (userName eq "x" [and origin eq "uaa"]: cf delete-user, set-*-role),
 * `GET /Users/:id`, `DELETE /Users/:id` and `PUT /Users/:id/password`
 * (cf passwd). Errors are UAA's JSON (`error`, `error_description`,
 * `message`), not CC's. Only admins manage users; anyone changes their own
 * password given the old one.
 */
export const NEW_USER_SCOPES = ["openid", "cloud_controller.read", "cloud_controller.write", "password.write", "uaa.user"];

const ADMIN_SCOPES = ["cloud_controller.admin", "scim.write", "uaa.admin"];
const READ_SCOPES = [...ADMIN_SCOPES, "scim.read"];

const CreateUser = z.object({
  userName: z.string().min(1).max(255),
  password: z.string().min(1).max(255),
  origin: z.string().optional(),
  name: z.object({ familyName: z.string().optional(), givenName: z.string().optional() }).optional(),
  emails: z.array(z.object({ value: z.string(), primary: z.boolean().optional() })).optional(),
});
const ChangePassword = z.object({ oldPassword: z.string().optional(), password: z.string().min(1).max(255) });

const uaaJson = (status: number, error: string, description: string) =>
  new Response(JSON.stringify({ error, error_description: description, message: description }), { status, headers: { "content-type": "application/json" } });

export function scimUser(u: User) {
  return {
    id: u.guid, externalId: "", userName: u.username, origin: "uaa", zoneId: "uaa", active: true, verified: true,
    name: { familyName: u.username, givenName: u.username }, emails: [{ value: u.username, primary: true }],
    groups: u.scopes.map((s) => ({ value: s, display: s, type: "DIRECT" })), approvals: [],
    meta: { version: 0, created: u.created_at, lastModified: u.created_at }, passwordLastModified: u.created_at,
    schemas: ["urn:scim:schemas:core:1.0"],
  };
}

/** `userName eq "x"`, `id eq "x"` and `origin eq "y"` joined by `and`: the filters the cf CLI sends. */
function parseFilter(raw: string | undefined): ((u: User) => boolean) | null {
  if (!raw || raw.trim() === "") return () => true;
  const parts = raw.split(/\s+and\s+/i);
  const tests: ((u: User) => boolean)[] = [];
  for (const p of parts) {
    const m = /^\s*(userName|id|origin)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i.exec(p);
    if (!m) return null;
    const value = m[2]!.replace(/\\(.)/g, "$1");
    const field = m[1]!.toLowerCase();
    if (field === "username") tests.push((u) => u.username.toLowerCase() === value.toLowerCase());
    else if (field === "id") tests.push((u) => u.guid === value);
    else tests.push(() => value === "uaa");
  }
  return (u) => tests.every((t) => t(u));
}

export interface ScimHooks {
  /** Resolves the bearer token (uaa.ts's authenticate), throwing CC's 401 when absent or invalid. */
  caller(authorization: string | undefined, method: string): CcUser;
  /** A user was deleted or changed password: end their sessions (token store, when there is one). */
  revoked?(userGuid: string): void;
}

export function scimRoutes(deps: CcDeps, users: UserRepo, hooks: ScimHooks): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const who = (c: { req: { header(n: string): string | undefined; method: string } }): CcUser | Response => {
    try {
      return hooks.caller(c.req.header("authorization"), c.req.method);
    } catch (err) {
      if (err instanceof CfApiError) return uaaJson(401, "invalid_token", "Invalid or missing access token");
      throw err;
    }
  };
  const has = (u: CcUser, scopes: string[]) => u.scopes.some((s) => scopes.includes(s));
  const forbidden = () => uaaJson(403, "insufficient_scope", "Insufficient scope for this resource");
  const body = async <S extends z.ZodType>(raw: Request, schema: S): Promise<z.output<S> | Response> => {
    let json: unknown;
    try {
      json = await raw.json();
    } catch {
      return uaaJson(400, "invalid_scim_resource", "Request body is not valid JSON");
    }
    const parsed = schema.safeParse(json);
    return parsed.success ? parsed.data : uaaJson(400, "invalid_scim_resource", parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join(", "));
  };

  r.post("/uaa/Users", async (c) => {
    const u = who(c);
    if (u instanceof Response) return u;
    if (!has(u, ADMIN_SCOPES)) return forbidden();
    const b = await body(c.req.raw, CreateUser);
    if (b instanceof Response) return b;
    if (b.origin !== undefined && b.origin !== "" && b.origin !== "uaa") return uaaJson(400, "invalid_scim_resource", `Origin '${b.origin}' is not supported: this appliance's only identity provider is 'uaa'`);
    if (users.find(b.userName)) return uaaJson(409, "scim_resource_already_exists", `Username already in use: ${b.userName}`);
    const created = await users.create(b.userName, b.password, NEW_USER_SCOPES);
    deps.logger.info("user created", { user: created.username, by: u.name });
    return c.json(scimUser(created), 201);
  });

  r.get("/uaa/Users", (c) => {
    const u = who(c);
    if (u instanceof Response) return u;
    if (!has(u, READ_SCOPES)) return forbidden();
    const match = parseFilter(c.req.query("filter"));
    if (!match) return uaaJson(400, "invalid_filter", `Invalid filter expression: ${c.req.query("filter")}`);
    const found = users.list().filter(match);
    return c.json({ resources: found.map(scimUser), startIndex: 1, itemsPerPage: found.length, totalResults: found.length, schemas: ["urn:scim:schemas:core:1.0"] });
  });

  r.get("/uaa/Users/:id", (c) => {
    const u = who(c);
    if (u instanceof Response) return u;
    const id = c.req.param("id");
    if (id !== u.guid && !has(u, READ_SCOPES)) return forbidden();
    const found = users.findByGuid(id);
    return found ? c.json(scimUser(found)) : uaaJson(404, "scim_resource_not_found", `User ${id} does not exist`);
  });

  r.delete("/uaa/Users/:id", (c) => {
    const u = who(c);
    if (u instanceof Response) return u;
    if (!has(u, ADMIN_SCOPES)) return forbidden();
    const id = c.req.param("id");
    const found = users.findByGuid(id);
    if (!found) return uaaJson(404, "scim_resource_not_found", `User ${id} does not exist`);
    deps.db.transaction(() => {
      deps.db.query("DELETE FROM cc_roles WHERE user_guid = ?").run(id);
      users.remove(id);
    }).immediate();
    hooks.revoked?.(id);
    deps.logger.info("user deleted", { user: found.username, by: u.name });
    return c.json(scimUser(found));
  });

  r.put("/uaa/Users/:id/password", async (c) => {
    const u = who(c);
    if (u instanceof Response) return u;
    const id = c.req.param("id");
    const self = id === u.guid;
    if (!self && !has(u, ADMIN_SCOPES)) return forbidden();
    const b = await body(c.req.raw, ChangePassword);
    if (b instanceof Response) return b;
    const found = users.findByGuid(id);
    if (!found) return uaaJson(404, "scim_resource_not_found", `User ${id} does not exist`);
    // Changing one's own password needs the old one, as on UAA (an admin resetting another's does not).
    if (self && !(b.oldPassword !== undefined && (await users.verify(found.username, b.oldPassword)))) return uaaJson(401, "unauthorized", "Old password is incorrect");
    await users.setPassword(id, b.password);
    hooks.revoked?.(id);
    return c.json({ status: "ok", message: "password updated" });
  });
  return r;
}
