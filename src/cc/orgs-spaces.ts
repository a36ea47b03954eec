import { Hono } from "hono";
import { z } from "zod";
import { Metadata, readJson } from "./body.ts";
import type { CcDeps, CcEnv } from "./deps.ts";
import { includes, listRows, sqlList } from "./list.ts";
import { validateMetadata } from "./metadata.ts";
import { updateMetadata } from "./metadata-update.ts";
import * as present from "./present.ts";
import { getOrg, getSpace, type DomainRow, type OrgRow, type SpaceRow } from "./rows.ts";
import { write } from "./write.ts";
import { actor } from "./app-state.ts";
import { recordAudit } from "./audit.ts";
import { uniqueness, unprocessable } from "./errors.ts";
import { jobLocation, recordJob } from "./jobs.ts";
import type { CcContext } from "./deps.ts";
import { accessFrom, isAdmin, orgScope, spaceScope } from "./authz.ts";
import { grantRole } from "./roles.ts";
import { seedDefaultQuota } from "./quotas.ts";
import { seedSharedSegment } from "./isolation.ts";

export const DEFAULT_ORG = "eirini";
export const DEFAULT_SPACE = "dev";

/** First start: the default org `eirini`, its space `dev` and the shared domain (config router.domain). Idempotent. */
export function seedDefaults(deps: Pick<CcDeps, "db" | "newGuid" | "stamp" | "config">): void {
  deps.db.transaction(() => {
    const now = deps.stamp();
    seedDefaultQuota(deps.db, now);
    seedSharedSegment(deps.db, now);
    // Only a fresh appliance gets the default org and space: once seeded they are ordinary (renamed or deleted, they stay so).
    const any = deps.db.query("SELECT 1 FROM cc_orgs LIMIT 1").get();
    if (!any) {
      const guid = deps.newGuid();
      deps.db.query("INSERT INTO cc_orgs (guid, name, created_at, updated_at) VALUES (?, ?, ?, ?)").run(guid, DEFAULT_ORG, now, now);
      deps.db.query("INSERT INTO cc_spaces (guid, name, org_guid, created_at, updated_at) VALUES (?, ?, ?, ?, ?)").run(deps.newGuid(), DEFAULT_SPACE, guid, now, now);
    }
    const domain = deps.config.router.domain;
    if (!deps.db.query("SELECT 1 FROM cc_domains WHERE name = ?").get(domain)) {
      deps.db.query("INSERT INTO cc_domains (guid, name, internal, created_at, updated_at) VALUES (?, ?, 0, ?, ?)").run(deps.newGuid(), domain, now, now);
    }
  }).immediate();
}

/** The shared domain apps get by default (config `router.domain`). */
export function defaultDomain(deps: Pick<CcDeps, "db" | "config">): DomainRow {
  return deps.db.query("SELECT * FROM cc_domains WHERE name = ?").get(deps.config.router.domain) as DomainRow;
}

// CC's name rules: 1-255 characters, no control characters.
const Name = z.string().min(1).max(255).regex(/^[^\u0000-\u001f]*$/, "must not contain control characters");
const CreateOrg = z.strictObject({ name: Name, suspended: z.boolean().optional(), metadata: Metadata });
// A rename reaches running apps' VCAP_APPLICATION on their next restart, as in CF (no version bump here).
const UpdateOrg = z.strictObject({ name: Name.optional(), suspended: z.boolean().optional(), metadata: Metadata });
const CreateSpace = z.strictObject({ name: Name, relationships: z.strictObject({ organization: z.object({ data: z.object({ guid: z.string().min(1) }) }) }), metadata: Metadata });
const UpdateSpace = z.strictObject({ name: Name.optional(), metadata: Metadata });

const orgTaken = (name: string) => uniqueness(`Organization '${name}' already exists.`);
// The CLI maps "Name must be unique per organization" to its SpaceAlreadyExistsError (ccv3/errors.go).
const spaceTaken = () => uniqueness("Name must be unique per organization");

/**
 * Removes an org or a space and everything inside it in one transaction
 * (apps, processes, routes, tasks, roles and private domains go by ON DELETE
 * CASCADE), then tells the Sink about every app that was inside, so their
 * LRPs stop on either backend, and cancels their running tasks.
 */
async function deleteRecursively(deps: CcDeps, c: CcContext, kind: "organization" | "space", guid: string): Promise<Response> {
  const scope = kind === "space" ? "a.space_guid = ?" : "a.space_guid IN (SELECT guid FROM cc_spaces WHERE org_guid = ?)";
  const appGuids = () => (deps.db.query(`SELECT a.guid FROM cc_apps a WHERE ${scope}`).all(guid) as { guid: string }[]).map((a) => a.guid);
  const running = deps.db.query(`SELECT t.guid FROM cc_tasks t JOIN cc_apps a ON a.guid = t.app_guid WHERE ${scope} AND t.state IN ('PENDING', 'RUNNING')`).all(guid) as { guid: string }[];
  let gone: string[] = [];
  const jobGuid = write(deps, () => {
    gone = appGuids();
    if (kind === "space") {
      const s = getSpace(deps.db, guid);
      recordAudit(deps, { type: "audit.space.delete-request", actor: actor(c.get("user")), target: { guid, type: "space", name: s.name }, data: { request: { recursive: true } }, space_guid: guid, organization_guid: s.org_guid });
      deps.db.query("DELETE FROM cc_spaces WHERE guid = ?").run(guid);
    } else {
      const o = getOrg(deps.db, guid);
      recordAudit(deps, { type: "audit.organization.delete-request", actor: actor(c.get("user")), target: { guid, type: "organization", name: o.name }, data: { request: { recursive: true } }, organization_guid: guid });
      deps.db.query("DELETE FROM cc_orgs WHERE guid = ?").run(guid);
    }
    return recordJob(deps, `${kind === "space" ? "space" : "organization"}.delete`);
  }, () => gone);
  for (const t of running) await deps.ports.tasks.cancelTask(t.guid).catch((err: unknown) => deps.logger.warn("cancelling task of deleted app failed", { task: t.guid, error: err }));
  for (const g of gone) deps.ports.logs.deleteSource?.(g);
  c.header("Location", jobLocation(deps, jobGuid));
  return c.body(null, 202);
}

/** The request schemas of this file, for the input-coverage test (every field honoured or refused). */
export const orgSpaceSchemas = { CreateOrg, UpdateOrg, CreateSpace, UpdateSpace };

export function orgSpaceRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const b = () => deps.baseUrl();
  r.get("/v3/organizations", (c) => {
    const v = orgScope(accessFrom(c), "guid");
    const rows = deps.db.query(`SELECT * FROM cc_orgs WHERE ${v.sql}`).all(...v.args) as OrgRow[];
    const res = listRows(c, b(), rows, {
      filters: { names: (o, v) => v.includes(o.name), guids: (o, v) => v.includes(o.guid) },
      orderBy: { name: (o) => o.name },
    });
    return c.json({ pagination: res.pagination, resources: res.page.map((o) => present.org(b(), o)) });
  });
  r.post("/v3/organizations", async (c) => {
    const body = await readJson(c, CreateOrg);
    if (body.suspended) throw unprocessable("Suspended organizations are not supported on this appliance");
    validateMetadata(body.metadata);
    const org = write(deps, () => {
      if (deps.db.query("SELECT 1 FROM cc_orgs WHERE name = ?").get(body.name)) throw orgTaken(body.name);
      const guid = deps.newGuid();
      const now = deps.stamp();
      deps.db.query("INSERT INTO cc_orgs (guid, name, created_at, updated_at) VALUES (?, ?, ?, ?)").run(guid, body.name, now, now);
      updateMetadata(deps, "org", guid, body.metadata);
      // A non-admin may create an org only with user_org_creation on (authorize.ts); CC makes them its manager.
      if (!isAdmin(accessFrom(c))) {
        grantRole(deps, "organization_user", c.get("user").guid, { org_guid: guid });
        grantRole(deps, "organization_manager", c.get("user").guid, { org_guid: guid });
      }
      recordAudit(deps, { type: "audit.organization.create", actor: actor(c.get("user")), target: { guid, type: "organization", name: body.name }, data: { request: body }, organization_guid: guid });
      return getOrg(deps.db, guid);
    });
    return c.json(present.org(b(), org), 201);
  });
  r.get("/v3/organizations/:guid", (c) => c.json(present.org(b(), getOrg(deps.db, c.req.param("guid")))));
  r.patch("/v3/organizations/:guid", async (c) => {
    const guid = getOrg(deps.db, c.req.param("guid")).guid;
    const body = await readJson(c, UpdateOrg);
    if (body.suspended) throw unprocessable("Suspended organizations are not supported on this appliance");
    validateMetadata(body.metadata);
    const org = write(deps, () => {
      if (body.name !== undefined) {
        const other = deps.db.query("SELECT guid FROM cc_orgs WHERE name = ?").get(body.name) as { guid: string } | null;
        if (other && other.guid !== guid) throw orgTaken(body.name);
        deps.db.query("UPDATE cc_orgs SET name = ? WHERE guid = ?").run(body.name, guid);
      }
      updateMetadata(deps, "org", guid, body.metadata);
      deps.db.query("UPDATE cc_orgs SET updated_at = ? WHERE guid = ?").run(deps.stamp(), guid);
      const o = getOrg(deps.db, guid);
      recordAudit(deps, { type: "audit.organization.update", actor: actor(c.get("user")), target: { guid, type: "organization", name: o.name }, data: { request: body }, organization_guid: guid });
      return o;
    });
    return c.json(present.org(b(), org));
  });
  r.delete("/v3/organizations/:guid", (c) => deleteRecursively(deps, c, "organization", getOrg(deps.db, c.req.param("guid")).guid));
  r.get("/v3/organizations/:guid/domains", (c) => {
    getOrg(deps.db, c.req.param("guid"));
    const rows = deps.db.query("SELECT * FROM cc_domains").all() as DomainRow[];
    const res = listRows(c, b(), rows, { filters: { names: (d, v) => v.includes(d.name), guids: (d, v) => v.includes(d.guid) }, orderBy: { name: (d) => d.name } });
    return c.json({ pagination: res.pagination, resources: res.page.map((d) => present.domain(b(), d)) });
  });
  r.get("/v3/organizations/:guid/domains/default", (c) => {
    getOrg(deps.db, c.req.param("guid"));
    return c.json(present.domain(b(), defaultDomain(deps)));
  });

  r.get("/v3/spaces", (c) => {
    const v = spaceScope(accessFrom(c), "guid");
    const res = sqlList<SpaceRow>(c, b(), deps.db, {
      select: "*", from: "cc_spaces", scope: v, tiebreak: "rowid",
      filters: { names: "name", guids: "guid", organization_guids: "org_guid" }, orderBy: { created_at: "created_at", updated_at: "updated_at", name: "name" },
    }) ?? listRows(c, b(), deps.db.query(`SELECT * FROM cc_spaces WHERE ${v.sql}`).all(...v.args) as SpaceRow[], {
      filters: {
        names: (s, v) => v.includes(s.name),
        guids: (s, v) => v.includes(s.guid),
        organization_guids: (s, v) => v.includes(s.org_guid),
      },
      orderBy: { name: (s) => s.name },
    });
    const inc = includes(res.params, ["organization"]);
    const body: Record<string, unknown> = { pagination: res.pagination, resources: res.page.map((s) => present.space(b(), s)) };
    if (inc.has("organization")) {
      const orgGuids = [...new Set(res.page.map((s) => s.org_guid))];
      body.included = { organizations: orgGuids.map((g) => present.org(b(), getOrg(deps.db, g))) };
    }
    return c.json(body);
  });
  r.post("/v3/spaces", async (c) => {
    const body = await readJson(c, CreateSpace);
    validateMetadata(body.metadata);
    const orgGuid = body.relationships.organization.data.guid;
    const space = write(deps, () => {
      if (!deps.db.query("SELECT 1 FROM cc_orgs WHERE guid = ?").get(orgGuid)) throw unprocessable("Invalid organization. Ensure the organization exists and you have access to it.");
      if (deps.db.query("SELECT 1 FROM cc_spaces WHERE org_guid = ? AND name = ?").get(orgGuid, body.name)) throw spaceTaken();
      const guid = deps.newGuid();
      const now = deps.stamp();
      deps.db.query("INSERT INTO cc_spaces (guid, name, org_guid, created_at, updated_at) VALUES (?, ?, ?, ?, ?)").run(guid, body.name, orgGuid, now, now);
      updateMetadata(deps, "space", guid, body.metadata);
      recordAudit(deps, { type: "audit.space.create", actor: actor(c.get("user")), target: { guid, type: "space", name: body.name }, data: { request: body }, space_guid: guid, organization_guid: orgGuid });
      return getSpace(deps.db, guid);
    });
    return c.json(present.space(b(), space), 201);
  });
  // Space annotations reach every app in the space that does not override them (metadata-update.ts).
  r.patch("/v3/spaces/:guid", async (c) => {
    const guid = getSpace(deps.db, c.req.param("guid")).guid;
    const body = await readJson(c, UpdateSpace);
    validateMetadata(body.metadata);
    let apps: string[] = [];
    const space = write(deps, () => {
      const cur = getSpace(deps.db, guid);
      if (body.name !== undefined) {
        const other = deps.db.query("SELECT guid FROM cc_spaces WHERE org_guid = ? AND name = ?").get(cur.org_guid, body.name) as { guid: string } | null;
        if (other && other.guid !== guid) throw spaceTaken();
        deps.db.query("UPDATE cc_spaces SET name = ? WHERE guid = ?").run(body.name, guid);
      }
      apps = updateMetadata(deps, "space", guid, body.metadata);
      deps.db.query("UPDATE cc_spaces SET updated_at = ? WHERE guid = ?").run(deps.stamp(), guid);
      const s = getSpace(deps.db, guid);
      recordAudit(deps, { type: "audit.space.update", actor: actor(c.get("user")), target: { guid, type: "space", name: s.name }, data: { request: body }, space_guid: guid, organization_guid: s.org_guid });
      return s;
    }, () => apps);
    return c.json(present.space(b(), space));
  });
  r.delete("/v3/spaces/:guid", (c) => deleteRecursively(deps, c, "space", getSpace(deps.db, c.req.param("guid")).guid));
  r.get("/v3/spaces/:guid", (c) => {
    const s = getSpace(deps.db, c.req.param("guid"));
    const inc = includes(new URL(c.req.url).searchParams, ["organization"]);
    return c.json({ ...present.space(b(), s), ...(inc.has("organization") ? { included: { organizations: [present.org(b(), getOrg(deps.db, s.org_guid))] } } : {}) });
  });
  return r;
}
