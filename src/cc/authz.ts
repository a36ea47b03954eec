import type { Database } from "bun:sqlite";
import type { CcContext, CcUser } from "./deps.ts";

/**
 * Who may see and do what, as Cloud Controller decides it (CC's
 * permissions.rb and the V3 API docs' "Permitted roles"):
 * - global roles come from token scopes: `cloud_controller.admin` (admin),
 *   `cloud_controller.admin_read_only` (reads everything, env included),
 *   `cloud_controller.global_auditor` (reads everything but env and secrets);
 * - org and space roles come from cc_roles (roles.ts).
 * A space's contents are readable by its developers, managers, auditors and
 * supporters and by its org's managers; writable by its developers. An org is
 * visible to anyone holding a role in it or in one of its spaces.
 * The SQL fragments below let list endpoints filter in the query itself.
 */
export type GlobalRole = "admin" | "admin_read_only" | "global_auditor" | null;

export interface Access {
  user: CcUser;
  global: GlobalRole;
}

export function accessOf(user: CcUser): Access {
  const s = user.scopes;
  const global: GlobalRole = s.includes("cloud_controller.admin")
    ? "admin"
    : s.includes("cloud_controller.admin_read_only")
      ? "admin_read_only"
      : s.includes("cloud_controller.global_auditor")
        ? "global_auditor"
        : null;
  return { user, global };
}

/** The caller's access (set once per request by the authorization middleware). */
export function accessFrom(c: CcContext): Access {
  return accessOf(c.get("user"));
}

export const readsAll = (a: Access) => a.global !== null;
export const isAdmin = (a: Access) => a.global === "admin";

/** A WHERE fragment and its bound values. */
export interface Scope {
  sql: string;
  args: string[];
}

const ALL: Scope = { sql: "1 = 1", args: [] };

const READABLE_SPACES =
  "SELECT space_guid FROM cc_roles WHERE user_guid = ? AND space_guid IS NOT NULL " +
  "UNION SELECT s.guid FROM cc_spaces s JOIN cc_roles r ON r.org_guid = s.org_guid WHERE r.user_guid = ? AND r.type = 'organization_manager'";
const READABLE_ORGS =
  "SELECT org_guid FROM cc_roles WHERE user_guid = ? AND org_guid IS NOT NULL " +
  "UNION SELECT s.org_guid FROM cc_roles r JOIN cc_spaces s ON s.guid = r.space_guid WHERE r.user_guid = ?";

/** `column IN (spaces the caller may read)`; everything for global readers. */
export function spaceScope(a: Access, column: string): Scope {
  if (readsAll(a)) return ALL;
  return { sql: `${column} IN (${READABLE_SPACES})`, args: [a.user.guid, a.user.guid] };
}

/** `column IN (apps in spaces the caller may read)`, for rows keyed by app_guid. */
export function appScope(a: Access, column: string): Scope {
  if (readsAll(a)) return ALL;
  return { sql: `${column} IN (SELECT guid FROM cc_apps WHERE space_guid IN (${READABLE_SPACES}))`, args: [a.user.guid, a.user.guid] };
}

/** `column IN (orgs the caller may see)`. */
export function orgScope(a: Access, column: string): Scope {
  if (readsAll(a)) return ALL;
  return { sql: `${column} IN (${READABLE_ORGS})`, args: [a.user.guid, a.user.guid] };
}

/** The caller's roles that bear on one space: its own space roles and its org's roles. */
export function rolesInSpace(db: Database, userGuid: string, spaceGuid: string): Set<string> {
  const rows = db
    .query("SELECT type FROM cc_roles WHERE user_guid = ? AND (space_guid = ? OR org_guid = (SELECT org_guid FROM cc_spaces WHERE guid = ?))")
    .all(userGuid, spaceGuid, spaceGuid) as { type: string }[];
  return new Set(rows.map((r) => r.type));
}

/** The caller's roles in one org, plus `space_role` when they hold any role in one of its spaces. */
export function rolesInOrg(db: Database, userGuid: string, orgGuid: string): Set<string> {
  const rows = db
    .query("SELECT type FROM cc_roles WHERE user_guid = ? AND org_guid = ? UNION SELECT 'space_role' FROM cc_roles r JOIN cc_spaces s ON s.guid = r.space_guid WHERE r.user_guid = ? AND s.org_guid = ?")
    .all(userGuid, orgGuid, userGuid, orgGuid) as { type: string }[];
  return new Set(rows.map((r) => r.type));
}

/** What one request needs on a space. */
export type SpaceNeed = "read" | "write" | "env" | "lifecycle" | "manage";

const SPACE_READERS = ["space_developer", "space_manager", "space_auditor", "space_supporter", "organization_manager"];
const SPACE_NEEDS: Record<Exclude<SpaceNeed, "read">, string[]> = {
  write: ["space_developer"],
  env: ["space_developer"],
  lifecycle: ["space_developer", "space_supporter"],
  manage: ["space_manager", "organization_manager"],
};

/** "hidden" (answer 404 as if absent), "forbidden" (403) or "ok". */
export type Verdict = "hidden" | "forbidden" | "ok";

export function spaceVerdict(db: Database, a: Access, spaceGuid: string, need: SpaceNeed): Verdict {
  if (a.global === "admin") return "ok";
  if (a.global !== null) {
    if (need === "read" || (need === "env" && a.global === "admin_read_only")) return "ok";
    return "forbidden";
  }
  const roles = rolesInSpace(db, a.user.guid, spaceGuid);
  if (!SPACE_READERS.some((r) => roles.has(r))) return "hidden";
  if (need === "read") return "ok";
  return SPACE_NEEDS[need].some((r) => roles.has(r)) ? "ok" : "forbidden";
}

export type OrgNeed = "read" | "manage" | "admin";

export function orgVerdict(db: Database, a: Access, orgGuid: string, need: OrgNeed): Verdict {
  if (a.global === "admin") return "ok";
  if (a.global !== null) return need === "read" ? "ok" : "forbidden";
  const roles = rolesInOrg(db, a.user.guid, orgGuid);
  if (roles.size === 0) return "hidden";
  if (need === "read") return "ok";
  if (need === "manage" && roles.has("organization_manager")) return "ok";
  return "forbidden";
}
