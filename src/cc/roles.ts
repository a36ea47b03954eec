import { Hono } from "hono";
import { z } from "zod";
import { actor } from "./app-state.ts";
import { recordAudit } from "./audit.ts";
import { readJson } from "./body.ts";
import { isoSeconds } from "./clock.ts";
import type { CcDeps, CcEnv } from "./deps.ts";
import { notFound, unprocessable } from "./errors.ts";
import { jobLocation, recordJob } from "./jobs.ts";
import { includes, listRows } from "./list.ts";
import * as present from "./present.ts";
import { findOrg, findSpace, getOrg, getSpace, type OrgRow, type SpaceRow } from "./rows.ts";
import { write } from "./write.ts";
import { accessFrom, orgScope, readsAll, spaceScope } from "./authz.ts";

/**
 * Org and space roles (`cf set-org-role`, `cf set-space-role`, `cf org-users`,
 * `cf space-users`, `cf create-org` / `create-space` giving their creator
 * roles): `/v3/roles` and the CC user records `/v3/users` behind them. The
 * users are the appliance's UAA users (src/store/users.ts), one guid for both,
 * as CC keeps its users under UAA's ids. What each role allows is
 * authz.ts's business.
 */
export const ORG_ROLES = ["organization_user", "organization_auditor", "organization_manager", "organization_billing_manager"] as const;
export const SPACE_ROLES = ["space_auditor", "space_developer", "space_manager", "space_supporter"] as const;
export type RoleType = (typeof ORG_ROLES)[number] | (typeof SPACE_ROLES)[number];

export interface RoleRow { guid: string; type: RoleType; user_guid: string; org_guid: string | null; space_guid: string | null; created_at: string; updated_at: string }
export interface CcUserRow { guid: string; username: string; created_at: string }

const UserRef = z.union([
  z.strictObject({ guid: z.string().min(1) }),
  z.strictObject({ username: z.string().min(1), origin: z.string().optional() }),
]);
const CreateRole = z.strictObject({
  type: z.enum([...ORG_ROLES, ...SPACE_ROLES]),
  relationships: z.strictObject({
    user: z.object({ data: UserRef }),
    organization: z.object({ data: z.object({ guid: z.string().min(1) }) }).optional(),
    space: z.object({ data: z.object({ guid: z.string().min(1) }) }).optional(),
  }),
});
export const roleSchemas = { CreateRole };

export function presentUser(b: string, u: CcUserRow) {
  const at = isoSeconds(new Date(u.created_at));
  return {
    guid: u.guid, created_at: at, updated_at: at, username: u.username, presentation_name: u.username, origin: "uaa",
    metadata: { labels: {}, annotations: {} }, links: { self: { href: `${b}/v3/users/${u.guid}` } },
  };
}

export function presentRole(b: string, r: RoleRow) {
  const rel = (g: string | null) => ({ data: g ? { guid: g } : null });
  return {
    guid: r.guid, created_at: isoSeconds(new Date(r.created_at)), updated_at: isoSeconds(new Date(r.updated_at)), type: r.type,
    relationships: { user: rel(r.user_guid), organization: rel(r.org_guid), space: rel(r.space_guid) },
    links: {
      self: { href: `${b}/v3/roles/${r.guid}` }, user: { href: `${b}/v3/users/${r.user_guid}` },
      ...(r.org_guid ? { organization: { href: `${b}/v3/organizations/${r.org_guid}` } } : {}),
      ...(r.space_guid ? { space: { href: `${b}/v3/spaces/${r.space_guid}` } } : {}),
    },
  };
}

const USER_COLUMNS = "SELECT guid, username, created_at FROM users";

export function findUser(deps: Pick<CcDeps, "db">, guid: string): CcUserRow | null {
  return deps.db.query(`${USER_COLUMNS} WHERE guid = ?`).get(guid) as CcUserRow | null;
}

/** Gives `userGuid` the role unless held already (inside the caller's write). For create-org / create-space's creator roles too. */
export function grantRole(deps: Pick<CcDeps, "db" | "newGuid" | "stamp">, type: RoleType, userGuid: string, scope: { org_guid?: string; space_guid?: string }): RoleRow {
  const existing = deps.db
    .query("SELECT * FROM cc_roles WHERE type = ? AND user_guid = ? AND IFNULL(org_guid, '') = ? AND IFNULL(space_guid, '') = ?")
    .get(type, userGuid, scope.org_guid ?? "", scope.space_guid ?? "") as RoleRow | null;
  if (existing) return existing;
  const guid = deps.newGuid();
  const now = deps.stamp();
  deps.db.query("INSERT INTO cc_roles (guid, type, user_guid, org_guid, space_guid, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
    .run(guid, type, userGuid, scope.org_guid ?? null, scope.space_guid ?? null, now, now);
  return deps.db.query("SELECT * FROM cc_roles WHERE guid = ?").get(guid) as RoleRow;
}

export function roleRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const b = () => deps.baseUrl();

  r.get("/v3/roles", (c) => {
    const a = accessFrom(c);
    const sv = spaceScope(a, "space_guid");
    const ov = orgScope(a, "org_guid");
    const rows = deps.db.query(`SELECT * FROM cc_roles WHERE (space_guid IS NOT NULL AND ${sv.sql}) OR (org_guid IS NOT NULL AND ${ov.sql})`).all(...sv.args, ...ov.args) as RoleRow[];
    const res = listRows(c, b(), rows, {
      filters: {
        guids: (x, v) => v.includes(x.guid), types: (x, v) => v.includes(x.type), user_guids: (x, v) => v.includes(x.user_guid),
        organization_guids: (x, v) => x.org_guid !== null && v.includes(x.org_guid), space_guids: (x, v) => x.space_guid !== null && v.includes(x.space_guid),
      },
      extra: ["include"],
    });
    const inc = includes(res.params, ["user", "organization", "space"]);
    const body: Record<string, unknown> = { pagination: res.pagination, resources: res.page.map((x) => presentRole(b(), x)) };
    const included: Record<string, unknown[]> = {};
    const uniq = (xs: (string | null)[]) => [...new Set(xs.filter((x): x is string => x !== null))];
    if (inc.has("user")) included.users = uniq(res.page.map((x) => x.user_guid)).map((g) => findUser(deps, g)).filter((u): u is CcUserRow => u !== null).map((u) => presentUser(b(), u));
    if (inc.has("organization")) included.organizations = uniq(res.page.map((x) => x.org_guid)).map((g) => findOrg(deps.db, g)).filter((o): o is OrgRow => o !== null).map((o) => present.org(b(), o));
    if (inc.has("space")) included.spaces = uniq(res.page.map((x) => x.space_guid)).map((g) => findSpace(deps.db, g)).filter((s): s is SpaceRow => s !== null).map((s) => present.space(b(), s));
    if (inc.size > 0) body.included = included;
    return c.json(body);
  });
  r.get("/v3/roles/:guid", (c) => {
    const row = deps.db.query("SELECT * FROM cc_roles WHERE guid = ?").get(c.req.param("guid")) as RoleRow | null;
    if (!row) throw notFound("Role");
    return c.json(presentRole(b(), row));
  });

  r.post("/v3/roles", async (c) => {
    const body = await readJson(c, CreateRole);
    const rel = body.relationships;
    const isOrgRole = (ORG_ROLES as readonly string[]).includes(body.type);
    const role = write(deps, () => {
      const ref = rel.user.data;
      const user = "guid" in ref
        ? findUser(deps, ref.guid)
        : (deps.db.query(`${USER_COLUMNS} WHERE username = ?`).get(ref.username) as CcUserRow | null);
      if (!user) {
        if ("guid" in ref) throw unprocessable("Invalid user. Ensure that the user exists and you have access to it.");
        throw unprocessable(`No user exists with the username '${ref.username}' and origin '${ref.origin ?? "uaa"}'.`);
      }
      if ("username" in ref && ref.origin !== undefined && ref.origin !== "uaa") throw unprocessable(`No user exists with the username '${ref.username}' and origin '${ref.origin}'.`);
      let scope: { org_guid?: string; space_guid?: string };
      let where: string;
      let orgGuid: string;
      if (isOrgRole) {
        if (!rel.organization || rel.space) throw unprocessable("Organization roles require an organization relationship and no space.");
        const org = findOrg(deps.db, rel.organization.data.guid);
        if (!org) throw unprocessable("Invalid organization. Ensure that the organization exists and you have access to it.");
        scope = { org_guid: org.guid };
        where = `organization '${org.name}'`;
        orgGuid = org.guid;
      } else {
        if (!rel.space || rel.organization) throw unprocessable("Space roles require a space relationship and no organization.");
        const space = findSpace(deps.db, rel.space.data.guid);
        if (!space) throw unprocessable("Invalid space. Ensure that the space exists and you have access to it.");
        if (!deps.db.query("SELECT 1 FROM cc_roles WHERE user_guid = ? AND org_guid = ?").get(user.guid, space.org_guid)) {
          throw unprocessable("Users cannot be assigned roles in a space if they do not have a role in that space's organization.");
        }
        scope = { space_guid: space.guid };
        where = `space '${space.name}'`;
        orgGuid = space.org_guid;
      }
      const held = deps.db
        .query("SELECT 1 FROM cc_roles WHERE type = ? AND user_guid = ? AND IFNULL(org_guid, '') = ? AND IFNULL(space_guid, '') = ?")
        .get(body.type, user.guid, scope.org_guid ?? "", scope.space_guid ?? "");
      if (held) throw unprocessable(`User '${user.username}' already has '${body.type}' role in ${where}.`);
      const row = grantRole(deps, body.type, user.guid, scope);
      recordAudit(deps, {
        type: `audit.user.${body.type}_add`, actor: actor(c.get("user")),
        target: { guid: user.guid, type: "user", name: user.username }, data: { request: body },
        space_guid: scope.space_guid ?? "", organization_guid: orgGuid,
      });
      return row;
    });
    return c.json(presentRole(b(), role), 201);
  });

  r.delete("/v3/roles/:guid", (c) => {
    const row = deps.db.query("SELECT * FROM cc_roles WHERE guid = ?").get(c.req.param("guid")) as RoleRow | null;
    if (!row) throw notFound("Role");
    const jobGuid = write(deps, () => {
      if (row.org_guid && row.type === "organization_user") {
        const inSpaces = deps.db.query("SELECT 1 FROM cc_roles r JOIN cc_spaces s ON s.guid = r.space_guid WHERE r.user_guid = ? AND s.org_guid = ?").get(row.user_guid, row.org_guid);
        if (inSpaces) throw unprocessable("Cannot delete organization_user role while user has roles in spaces in that organization.");
      }
      const user = findUser(deps, row.user_guid);
      const orgGuid = row.org_guid ?? (row.space_guid ? getSpace(deps.db, row.space_guid).org_guid : "");
      if (row.org_guid) getOrg(deps.db, row.org_guid);
      deps.db.query("DELETE FROM cc_roles WHERE guid = ?").run(row.guid);
      recordAudit(deps, {
        type: `audit.user.${row.type}_remove`, actor: actor(c.get("user")), target: { guid: row.user_guid, type: "user", name: user?.username ?? "" },
        data: {}, space_guid: row.space_guid ?? "", organization_guid: orgGuid,
      });
      return recordJob(deps, "role.delete");
    });
    c.header("Location", jobLocation(deps, jobGuid));
    return c.body(null, 202);
  });

  r.get("/v3/users", (c) => {
    const a = accessFrom(c);
    // Users holding a role in an org the caller sees, and the caller; global readers see all.
    const ov = orgScope(a, "IFNULL(r.org_guid, s.org_guid)");
    const rows = (readsAll(a)
      ? deps.db.query(USER_COLUMNS).all()
      : deps.db.query(`${USER_COLUMNS} WHERE guid = ? OR guid IN (SELECT r.user_guid FROM cc_roles r LEFT JOIN cc_spaces s ON s.guid = r.space_guid WHERE ${ov.sql})`).all(a.user.guid, ...ov.args)) as CcUserRow[];
    const res = listRows(c, b(), rows, {
      filters: {
        guids: (u, v) => v.includes(u.guid), usernames: (u, v) => v.includes(u.username), origins: (_u, v) => v.includes("uaa"),
        partial_usernames: (u, v) => v.some((p) => u.username.includes(p)),
      },
    });
    return c.json({ pagination: res.pagination, resources: res.page.map((u) => presentUser(b(), u)) });
  });
  // CF creates the UAA user first (scim.ts) and then its CC record; here both are one row, so this confirms it exists.
  r.post("/v3/users", async (c) => {
    const body = await readJson(c, z.strictObject({ guid: z.string().min(1), metadata: z.unknown().optional() }));
    const u = findUser(deps, body.guid);
    if (!u) throw unprocessable(`No UAA user exists with the guid '${body.guid}'. Create the user in UAA first.`);
    return c.json(presentUser(b(), u), 201);
  });
  // The CC side of `cf delete-user`: the user's roles go; the CLI then deletes the UAA user (scim.ts).
  r.delete("/v3/users/:guid", (c) => {
    const u = findUser(deps, c.req.param("guid"));
    if (!u) throw notFound("User");
    const jobGuid = write(deps, () => {
      deps.db.query("DELETE FROM cc_roles WHERE user_guid = ?").run(u.guid);
      recordAudit(deps, { type: "audit.user.delete-request", actor: actor(c.get("user")), target: { guid: u.guid, type: "user", name: u.username }, data: {} });
      return recordJob(deps, "user.delete");
    });
    c.header("Location", jobLocation(deps, jobGuid));
    return c.body(null, 202);
  });
  r.get("/v3/users/:guid", (c) => {
    const u = findUser(deps, c.req.param("guid"));
    if (!u) throw notFound("User");
    return c.json(presentUser(b(), u));
  });
  return r;
}
