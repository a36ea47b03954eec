import type { Database } from "bun:sqlite";
import { Hono } from "hono";
import { z } from "zod";
import { parsePlacementTags } from "../opi/index.ts";
import { accessFrom, orgScope } from "./authz.ts";
import { readJson } from "./body.ts";
import { isoSeconds } from "./clock.ts";
import type { CcDeps, CcEnv } from "./deps.ts";
import { notFound, unprocessable } from "./errors.ts";
import { listRows } from "./list.ts";
import * as present from "./present.ts";
import { getOrg, getSpace, type OrgRow } from "./rows.ts";
import { write } from "./write.ts";

/**
 * Isolation segments (`cf create-isolation-segment`, `isolation-segments`,
 * `enable-org-isolation`, `disable-org-isolation`,
 * `set-org-default-isolation-segment`, `set-space-isolation-segment`,
 * `reset-space-isolation-segment`). A segment's name is a placement tag with
 * the semantics the OPI backends already have (locally: cells carrying the
 * tag in `cells.placementTags`; on Kubernetes: the node selector
 * `placement.cloudfoundry.org/NAME=true` plus its toleration). An app runs in
 * its space's segment, else its org's default; the segment is recorded on the
 * process when it (re)starts (`pinSegment`), so a change takes effect on the
 * next restart, as in CF. CF's "shared" segment always exists and means no tag.
 */
export const SHARED_SEGMENT_GUID = "933b4c58-120b-499a-b85d-4b6fc9e2903b";

interface SegmentRow { guid: string; name: string; created_at: string; updated_at: string }

const Create = z.strictObject({ name: z.string().min(1).max(255), metadata: z.unknown().optional() });
const ToOne = z.object({ data: z.object({ guid: z.string().min(1) }).nullable() });
const ToMany = z.object({ data: z.array(z.object({ guid: z.string().min(1) })).min(1) });
export const isolationSchemas = { Create, ToOne, ToMany };

/** Segments keep no labels or annotations here (their table has no metadata columns): refused, never dropped; an empty one is nothing to keep. */
function refuseMetadata(metadata: unknown): void {
  if (metadata === undefined || metadata === null) return;
  const m = metadata as { labels?: unknown; annotations?: unknown };
  const entries = (x: unknown) => (x && typeof x === "object" ? Object.keys(x).length : x === undefined || x === null ? 0 : 1);
  if (typeof metadata !== "object" || Object.keys(metadata).some((k) => k !== "labels" && k !== "annotations") || entries(m.labels) + entries(m.annotations) > 0) {
    throw unprocessable("metadata: labels and annotations on isolation segments are not supported by the Eirini appliance");
  }
}

export function seedSharedSegment(db: Database, now: string): void {
  db.query("INSERT OR IGNORE INTO cc_isolation_segments (guid, name, created_at, updated_at) VALUES (?, 'shared', ?, ?)").run(SHARED_SEGMENT_GUID, now, now);
}

/** The placement tag an app in this space starts with: its space's segment, else its org's default; none for "shared". */
export function effectiveSegment(db: Database, spaceGuid: string): string | null {
  const row = db
    .query(
      `SELECT seg.guid, seg.name FROM cc_spaces s JOIN cc_orgs o ON o.guid = s.org_guid
       JOIN cc_isolation_segments seg ON seg.guid = COALESCE(s.isolation_segment_guid, o.default_isolation_segment_guid) WHERE s.guid = ?`,
    )
    .get(spaceGuid) as { guid: string; name: string } | null;
  return row && row.guid !== SHARED_SEGMENT_GUID ? row.name : null;
}

/** Records the app's segment on its processes; called where a start or restart makes new process versions. */
export function pinSegment(db: Database, appGuid: string): void {
  const app = db.query("SELECT space_guid FROM cc_apps WHERE guid = ?").get(appGuid) as { space_guid: string } | null;
  if (!app) return;
  db.query("UPDATE cc_processes SET isolation_segment = ? WHERE app_guid = ?").run(effectiveSegment(db, app.space_guid), appGuid);
}

export function isolationRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const b = () => deps.baseUrl();
  const db = deps.db;
  const render = (s: SegmentRow) => ({
    guid: s.guid, name: s.name, created_at: isoSeconds(new Date(s.created_at)), updated_at: isoSeconds(new Date(s.updated_at)),
    metadata: { labels: {}, annotations: {} },
    links: { self: { href: `${b()}/v3/isolation_segments/${s.guid}` }, organizations: { href: `${b()}/v3/isolation_segments/${s.guid}/organizations` } },
  });
  const getSegment = (guid: string) => {
    const s = db.query("SELECT * FROM cc_isolation_segments WHERE guid = ?").get(guid) as SegmentRow | null;
    if (!s) throw notFound("Isolation segment");
    return s;
  };
  const entitled = (segment: string, org: string) => segment === SHARED_SEGMENT_GUID || !!db.query("SELECT 1 FROM cc_isolation_segment_orgs WHERE segment_guid = ? AND org_guid = ?").get(segment, org);
  const orgsOf = (segment: string) => (db.query("SELECT org_guid FROM cc_isolation_segment_orgs WHERE segment_guid = ?").all(segment) as { org_guid: string }[]).map((x) => x.org_guid);

  r.get("/v3/isolation_segments", (c) => {
    // A user sees the shared segment and those entitled to the orgs they see; global readers see all.
    const v = orgScope(accessFrom(c), "x.org_guid");
    const rows = (db.query(`SELECT * FROM cc_isolation_segments WHERE guid = ? OR ${v.sql === "1 = 1" ? "1 = 1" : `guid IN (SELECT x.segment_guid FROM cc_isolation_segment_orgs x WHERE ${v.sql})`}`).all(SHARED_SEGMENT_GUID, ...v.args) as SegmentRow[]).map((s) => ({ ...s, orgs: orgsOf(s.guid) }));
    const res = listRows(c, b(), rows, {
      filters: { names: (s, v) => v.includes(s.name), guids: (s, v) => v.includes(s.guid), organization_guids: (s, v) => s.orgs.some((o) => v.includes(o)) },
      orderBy: { name: (s) => s.name },
    });
    return c.json({ pagination: res.pagination, resources: res.page.map(render) });
  });
  r.get("/v3/isolation_segments/:guid", (c) => c.json(render(getSegment(c.req.param("guid")))));
  r.post("/v3/isolation_segments", async (c) => {
    const body = await readJson(c, Create);
    refuseMetadata(body.metadata);
    try {
      parsePlacementTags(body.name);
    } catch {
      throw unprocessable(`Isolation segment name '${body.name}' cannot be a placement tag: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit.`);
    }
    const seg = write(deps, () => {
      if (db.query("SELECT 1 FROM cc_isolation_segments WHERE name = ?").get(body.name)) throw unprocessable("Name must be unique");
      const guid = deps.newGuid();
      const now = deps.stamp();
      db.query("INSERT INTO cc_isolation_segments (guid, name, created_at, updated_at) VALUES (?, ?, ?, ?)").run(guid, body.name, now, now);
      return getSegment(guid);
    });
    return c.json(render(seg), 201);
  });
  r.delete("/v3/isolation_segments/:guid", (c) => {
    const seg = getSegment(c.req.param("guid"));
    if (seg.guid === SHARED_SEGMENT_GUID) throw unprocessable("Cannot delete the shared isolation segment");
    if (orgsOf(seg.guid).length > 0) throw unprocessable("Cannot delete an isolation segment that is entitled to organizations. Revoke the entitlements first.");
    write(deps, () => db.query("DELETE FROM cc_isolation_segments WHERE guid = ?").run(seg.guid));
    return c.body(null, 204);
  });
  r.get("/v3/isolation_segments/:guid/organizations", (c) => {
    const seg = getSegment(c.req.param("guid"));
    const rows = db.query("SELECT o.* FROM cc_orgs o JOIN cc_isolation_segment_orgs x ON x.org_guid = o.guid WHERE x.segment_guid = ?").all(seg.guid) as OrgRow[];
    const res = listRows(c, b(), rows, { filters: { names: (o, v) => v.includes(o.name), guids: (o, v) => v.includes(o.guid) }, orderBy: { name: (o) => o.name } });
    return c.json({ pagination: res.pagination, resources: res.page.map((o) => present.org(b(), o)) });
  });
  r.post("/v3/isolation_segments/:guid/relationships/organizations", async (c) => {
    const seg = getSegment(c.req.param("guid"));
    const body = await readJson(c, ToMany);
    write(deps, () => {
      for (const o of body.data) db.query("INSERT OR IGNORE INTO cc_isolation_segment_orgs (segment_guid, org_guid) VALUES (?, ?)").run(seg.guid, getOrg(db, o.guid).guid);
    });
    return c.json({ data: orgsOf(seg.guid).map((guid) => ({ guid })), links: { self: { href: `${b()}/v3/isolation_segments/${seg.guid}/relationships/organizations` } } });
  });
  r.delete("/v3/isolation_segments/:guid/relationships/organizations/:org_guid", (c) => {
    const seg = getSegment(c.req.param("guid"));
    const org = getOrg(db, c.req.param("org_guid"));
    write(deps, () => {
      const inUse = db.query("SELECT 1 FROM cc_spaces WHERE org_guid = ? AND isolation_segment_guid = ?").get(org.guid, seg.guid);
      if (inUse || org.default_isolation_segment_guid === seg.guid) {
        throw unprocessable(`Cannot remove the entitlement of isolation segment '${seg.name}' from organization '${org.name}': it is the organization's default or assigned to one of its spaces.`);
      }
      db.query("DELETE FROM cc_isolation_segment_orgs WHERE segment_guid = ? AND org_guid = ?").run(seg.guid, org.guid);
    });
    return c.body(null, 204);
  });

  r.get("/v3/organizations/:guid/relationships/default_isolation_segment", (c) => {
    const org = getOrg(db, c.req.param("guid"));
    return c.json({ data: org.default_isolation_segment_guid ? { guid: org.default_isolation_segment_guid } : null, links: { self: { href: `${b()}/v3/organizations/${org.guid}/relationships/default_isolation_segment` } } });
  });
  r.patch("/v3/organizations/:guid/relationships/default_isolation_segment", async (c) => {
    const org = getOrg(db, c.req.param("guid"));
    const body = await readJson(c, ToOne);
    const guid = body.data?.guid ?? null;
    write(deps, () => {
      if (guid !== null && !entitled(getSegment(guid).guid, org.guid)) throw unprocessable(`Unable to assign isolation segment with guid '${guid}'. Ensure it has been entitled to this organization.`);
      db.query("UPDATE cc_orgs SET default_isolation_segment_guid = ?, updated_at = ? WHERE guid = ?").run(guid, deps.stamp(), org.guid);
    });
    return c.json({ data: guid ? { guid } : null, links: { self: { href: `${b()}/v3/organizations/${org.guid}/relationships/default_isolation_segment` } } });
  });
  r.get("/v3/spaces/:guid/relationships/isolation_segment", (c) => {
    const space = getSpace(db, c.req.param("guid"));
    return c.json({ data: space.isolation_segment_guid ? { guid: space.isolation_segment_guid } : null, links: { self: { href: `${b()}/v3/spaces/${space.guid}/relationships/isolation_segment` } } });
  });
  r.patch("/v3/spaces/:guid/relationships/isolation_segment", async (c) => {
    const space = getSpace(db, c.req.param("guid"));
    const body = await readJson(c, ToOne);
    const guid = body.data?.guid ?? null;
    write(deps, () => {
      if (guid !== null && !entitled(getSegment(guid).guid, space.org_guid)) throw unprocessable(`Unable to assign isolation segment with guid '${guid}'. Ensure it has been entitled to the organization that this space belongs to.`);
      db.query("UPDATE cc_spaces SET isolation_segment_guid = ?, updated_at = ? WHERE guid = ?").run(guid, deps.stamp(), space.guid);
    });
    return c.json({ data: guid ? { guid } : null, links: { self: { href: `${b()}/v3/spaces/${space.guid}/relationships/isolation_segment` } } });
  });
  return r;
}
