import { Hono } from "hono";
import { z } from "zod";
import { Metadata, readJson } from "./body.ts";
import type { CcDeps, CcEnv } from "./deps.ts";
import { includes, listRows } from "./list.ts";
import { validateMetadata } from "./metadata.ts";
import { updateMetadata } from "./metadata-update.ts";
import * as present from "./present.ts";
import { getOrg, getSpace, type DomainRow, type OrgRow, type SpaceRow } from "./rows.ts";
import { write } from "./write.ts";

export const DEFAULT_ORG = "eirini";
export const DEFAULT_SPACE = "dev";

/** First start: the default org `eirini`, its space `dev` and the shared domain (config router.domain). Idempotent. */
export function seedDefaults(deps: Pick<CcDeps, "db" | "newGuid" | "stamp" | "config">): void {
  deps.db.transaction(() => {
    const now = deps.stamp();
    let org = deps.db.query("SELECT * FROM cc_orgs WHERE name = ?").get(DEFAULT_ORG) as OrgRow | null;
    if (!org) {
      const guid = deps.newGuid();
      deps.db.query("INSERT INTO cc_orgs (guid, name, created_at, updated_at) VALUES (?, ?, ?, ?)").run(guid, DEFAULT_ORG, now, now);
      org = getOrg(deps.db, guid);
      deps.db.query("INSERT INTO cc_spaces (guid, name, org_guid, created_at, updated_at) VALUES (?, ?, ?, ?, ?)").run(deps.newGuid(), DEFAULT_SPACE, org.guid, now, now);
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

// Metadata only: renames would change names baked into running LRPs.
const UpdateMetadataOnly = z.strictObject({ metadata: Metadata });

/** The request schemas of this file, for the input-coverage test (every field honoured or refused). */
export const orgSpaceSchemas = { UpdateMetadataOnly };

export function orgSpaceRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  const b = () => deps.baseUrl();
  r.get("/v3/organizations", (c) => {
    const rows = deps.db.query("SELECT * FROM cc_orgs").all() as OrgRow[];
    const res = listRows(c, b(), rows, {
      filters: { names: (o, v) => v.includes(o.name), guids: (o, v) => v.includes(o.guid) },
      orderBy: { name: (o) => o.name },
    });
    return c.json({ pagination: res.pagination, resources: res.page.map((o) => present.org(b(), o)) });
  });
  r.get("/v3/organizations/:guid", (c) => c.json(present.org(b(), getOrg(deps.db, c.req.param("guid")))));
  r.patch("/v3/organizations/:guid", async (c) => {
    const guid = getOrg(deps.db, c.req.param("guid")).guid;
    const body = await readJson(c, UpdateMetadataOnly);
    validateMetadata(body.metadata);
    const org = write(deps, () => {
      updateMetadata(deps, "org", guid, body.metadata);
      deps.db.query("UPDATE cc_orgs SET updated_at = ? WHERE guid = ?").run(deps.stamp(), guid);
      return getOrg(deps.db, guid);
    });
    return c.json(present.org(b(), org));
  });
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
    const rows = deps.db.query("SELECT * FROM cc_spaces").all() as SpaceRow[];
    const res = listRows(c, b(), rows, {
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
  // Space annotations reach every app in the space that does not override them (metadata-update.ts).
  r.patch("/v3/spaces/:guid", async (c) => {
    const guid = getSpace(deps.db, c.req.param("guid")).guid;
    const body = await readJson(c, UpdateMetadataOnly);
    validateMetadata(body.metadata);
    let apps: string[] = [];
    const space = write(deps, () => {
      apps = updateMetadata(deps, "space", guid, body.metadata);
      deps.db.query("UPDATE cc_spaces SET updated_at = ? WHERE guid = ?").run(deps.stamp(), guid);
      return getSpace(deps.db, guid);
    }, () => apps);
    return c.json(present.space(b(), space));
  });
  r.get("/v3/spaces/:guid", (c) => {
    const s = getSpace(deps.db, c.req.param("guid"));
    const inc = includes(new URL(c.req.url).searchParams, ["organization"]);
    return c.json({ ...present.space(b(), s), ...(inc.has("organization") ? { included: { organizations: [present.org(b(), getOrg(deps.db, s.org_guid))] } } : {}) });
  });
  return r;
}
