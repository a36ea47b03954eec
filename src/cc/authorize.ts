import type { MiddlewareHandler } from "hono";
import { accessOf, isAdmin, orgVerdict, readsAll, spaceVerdict, type Access, type Verdict } from "./authz.ts";
import { ruleFor, type BodyCheck, type CustomCheck, type Rule } from "./authz-rules.ts";
import type { CcDeps, CcEnv } from "./deps.ts";
import { CfApiError, notAuthenticated, notAuthorized, notFound, unprocessable } from "./errors.ts";
import { featureEnabled } from "./feature-flags.ts";

/**
 * The one authorization gate in front of every CC route (rules in
 * authz-rules.ts, role semantics in authz.ts). It runs after the bearer
 * middleware set the caller and before any handler, so handlers keep their
 * single job; lists narrow themselves with authz.ts's SQL scopes.
 */
const unknownRequest = () => new CfApiError(404, 10000, "CF-NotFound", "Unknown request");
const API_PATH = /^\/(v2|v3|api\/v1)(\/|$)/;

export function authorize(deps: CcDeps): MiddlewareHandler<CcEnv> {
  const db = deps.db;
  const gate = (v: Verdict, hidden: () => Error) => {
    if (v === "hidden") throw hidden();
    if (v === "forbidden") throw notAuthorized();
  };
  const invalid = (what: string) => () => unprocessable(`Invalid ${what}. Ensure that the ${what} exists and you have access to it.`);

  const checkBody = async (a: Access, check: BodyCheck, raw: Request) => {
    let body: Record<string, any>;
    try {
      body = (await raw.clone().json()) as Record<string, any>;
    } catch {
      return; // the handler answers the parse error
    }
    const rel = body?.relationships ?? {};
    const spaceOf = (sql: string, guid: unknown) => (typeof guid === "string" ? ((db.query(sql).get(guid) as { g: string } | null)?.g ?? null) : null);
    switch (check) {
      case "app":
      case "route": {
        const s = spaceOf("SELECT guid AS g FROM cc_spaces WHERE guid = ?", rel.space?.data?.guid);
        if (s) gate(spaceVerdict(db, a, s, "write"), invalid("space"));
        return;
      }
      case "package": {
        const s = spaceOf("SELECT space_guid AS g FROM cc_apps WHERE guid = ?", rel.app?.data?.guid);
        if (s) gate(spaceVerdict(db, a, s, "write"), () => unprocessable("App is invalid. Ensure it exists and you have access to it."));
        return;
      }
      case "build": {
        const s = spaceOf("SELECT a.space_guid AS g FROM cc_packages p JOIN cc_apps a ON a.guid = p.app_guid WHERE p.guid = ?", body?.package?.guid);
        if (s) gate(spaceVerdict(db, a, s, "write"), () => unprocessable("Unable to use package. Ensure that the package exists and you have access to it."));
        return;
      }
      case "space": {
        const o = spaceOf("SELECT guid AS g FROM cc_orgs WHERE guid = ?", rel.organization?.data?.guid);
        if (o) gate(orgVerdict(db, a, o, "manage"), () => unprocessable("Invalid organization. Ensure the organization exists and you have access to it."));
        return;
      }
      case "org":
        // With user_org_creation on, any user may create an org and becomes its manager (orgs-spaces.ts).
        if (!isAdmin(a) && !(a.global === null && featureEnabled(deps, "user_org_creation"))) throw notAuthorized();
        return;
      case "role": {
        const o = spaceOf("SELECT guid AS g FROM cc_orgs WHERE guid = ?", rel.organization?.data?.guid);
        if (o) gate(orgVerdict(db, a, o, "manage"), invalid("organization"));
        const s = spaceOf("SELECT guid AS g FROM cc_spaces WHERE guid = ?", rel.space?.data?.guid);
        if (s) gate(spaceVerdict(db, a, s, "manage"), invalid("space"));
        if (!o && !s && !isAdmin(a)) throw notAuthorized();
        return;
      }
      case "space_quota": {
        const o = spaceOf("SELECT guid AS g FROM cc_orgs WHERE guid = ?", rel.organization?.data?.guid);
        if (o) gate(orgVerdict(db, a, o, "manage"), invalid("organization"));
        return;
      }
      case "domain": {
        const o = spaceOf("SELECT guid AS g FROM cc_orgs WHERE guid = ?", rel.organization?.data?.guid);
        if (o) gate(orgVerdict(db, a, o, "manage"), invalid("organization"));
        else if (!isAdmin(a)) throw notAuthorized();
        return;
      }
    }
  };

  const checkCustom = (a: Access, check: CustomCheck, params: Record<string, string>, write: boolean) => {
    switch (check) {
      case "role": {
        const r = db.query("SELECT org_guid, space_guid FROM cc_roles WHERE guid = ?").get(params.guid ?? "") as { org_guid: string | null; space_guid: string | null } | null;
        if (!r) return;
        if (r.space_guid) gate(spaceVerdict(db, a, r.space_guid, write ? "manage" : "read"), () => notFound("Role"));
        else if (r.org_guid) gate(orgVerdict(db, a, r.org_guid, write ? "manage" : "read"), () => notFound("Role"));
        return;
      }
      case "audit_event": {
        const e = db.query("SELECT space_guid, organization_guid FROM cc_audit_events WHERE guid = ?").get(params.guid ?? "") as { space_guid: string; organization_guid: string } | null;
        if (!e || readsAll(a)) return;
        if (e.space_guid && db.query("SELECT 1 FROM cc_spaces WHERE guid = ?").get(e.space_guid)) gate(spaceVerdict(db, a, e.space_guid, "read"), () => notFound("Event"));
        else if (e.organization_guid && db.query("SELECT 1 FROM cc_orgs WHERE guid = ?").get(e.organization_guid)) gate(orgVerdict(db, a, e.organization_guid, "read"), () => notFound("Event"));
        else throw notFound("Event");
        return;
      }
      case "domain_delete": {
        const d = db.query("SELECT org_guid FROM cc_domains WHERE guid = ?").get(params.guid ?? "") as { org_guid: string | null } | null;
        if (!d) return;
        if (d.org_guid) gate(orgVerdict(db, a, d.org_guid, "manage"), () => notFound("Domain"));
        else if (!isAdmin(a)) throw notAuthorized();
        return;
      }
      case "log_source": {
        const s = db.query("SELECT space_guid AS g FROM cc_apps WHERE guid = ?").get(params.source_id ?? "") as { g: string } | null;
        if (s) gate(spaceVerdict(db, a, s.g, "read"), () => notFound("App"));
        else if (!readsAll(a)) throw notFound("App");
        return;
      }
      case "user": {
        const g = params.guid ?? "";
        if (readsAll(a) || g === a.user.guid) return;
        // Users sharing an org with the caller are visible to them, as on CC.
        const shared = db
          .query(
            `SELECT 1 FROM cc_roles r LEFT JOIN cc_spaces s ON s.guid = r.space_guid WHERE r.user_guid = ? AND IFNULL(r.org_guid, s.org_guid) IN (
               SELECT org_guid FROM cc_roles WHERE user_guid = ? AND org_guid IS NOT NULL UNION SELECT s2.org_guid FROM cc_roles r2 JOIN cc_spaces s2 ON s2.guid = r2.space_guid WHERE r2.user_guid = ?) LIMIT 1`,
          )
          .get(g, a.user.guid, a.user.guid);
        if (!shared) throw notFound("User");
        return;
      }
    }
  };

  const enforce = async (a: Access, rule: Rule, params: Record<string, string>, method: string, raw: Request) => {
    const write = method !== "GET" && method !== "HEAD";
    switch (rule.kind) {
      case "public":
      case "any":
        return;
      case "global":
        if (rule.level === "admin" ? !isAdmin(a) : !readsAll(a)) throw notAuthorized();
        return;
      case "space": {
        const s = rule.locate(db, params);
        if (s) gate(spaceVerdict(db, a, s, rule.need), () => notFound(rule.what));
        return;
      }
      case "org": {
        const o = rule.locate(db, params);
        if (o) gate(orgVerdict(db, a, o, rule.need), () => notFound(rule.what));
        return;
      }
      case "body":
        return checkBody(a, rule.check, raw);
      case "custom":
        return checkCustom(a, rule.check, params, write);
    }
  };

  return async (c, next) => {
    const path = c.req.path;
    let hit;
    try {
      hit = ruleFor(c.req.method, path);
    } catch {
      throw unknownRequest(); // a path segment that is not valid percent-encoding
    }
    if (hit?.rule.kind === "public") return next();
    if (!hit) {
      // Deny by default: a route nobody gave a rule is for admins only.
      if (!API_PATH.test(path)) return next();
      const u = c.get("user");
      if (!u || !isAdmin(accessOf(u))) throw unknownRequest();
      return next();
    }
    const user = c.get("user");
    if (!user) throw notAuthenticated();
    await enforce(accessOf(user), hit.rule, hit.params, c.req.method, c.req.raw);
    return next();
  };
}
