import type { Database } from "bun:sqlite";
import { Hono } from "hono";
import type { CcDeps, CcEnv } from "./deps.ts";
import { listRows } from "./list.ts";
import { auditEvent } from "./present.ts";
import type { AuditRow } from "./rows.ts";
import { notFound } from "./errors.ts";
import { timestampFilter, timestampKeys } from "./time-filters.ts";
import { recordUsageFor } from "./usage-events.ts";

export interface AuditInput {
  type: string;
  actor: { guid: string; type: string; name: string };
  target: { guid: string; type: string; name: string };
  data?: Record<string, unknown>;
  space_guid?: string;
  organization_guid?: string;
}

/** Appends one audit event (`cf events`); call inside the transaction of the change it records. */
export function recordAudit(deps: Pick<CcDeps, "db" | "newGuid" | "stamp">, e: AuditInput): void {
  const db: Database = deps.db;
  // seq only grows, so the newest row (largest rowid) holds the largest seq: an O(log n) read instead of MAX(seq)'s full scan per event.
  const last = db.query("SELECT seq FROM cc_audit_events ORDER BY rowid DESC LIMIT 1").get() as { seq: number } | null;
  const seq = (last?.seq ?? 0) + 1;
  db.query(
    `INSERT INTO cc_audit_events (guid, type, actor_guid, actor_type, actor_name, target_guid, target_type, target_name, data, space_guid, organization_guid, created_at, seq)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(deps.newGuid(), e.type, e.actor.guid, e.actor.type, e.actor.name, e.target.guid, e.target.type, e.target.name, JSON.stringify(e.data ?? {}), e.space_guid ?? "", e.organization_guid ?? "", deps.stamp(), seq);
  recordUsageFor(deps, e.type, e.target.guid, e.data ?? {});
}

/** `GET /v3/audit_events` (filters: target_guids, types, space_guids, organization_guids, created_ats with [lt|lte|gt|gte]). */
export function auditRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  r.get("/v3/audit_events", (c) => {
    const created = timestampFilter(new URL(c.req.url).searchParams, "created_ats");
    const rows = (deps.db.query("SELECT * FROM cc_audit_events ORDER BY seq").all() as AuditRow[]).filter((e) => created(e.created_at));
    const res = listRows(c, deps.baseUrl(), rows, {
      extra: timestampKeys("created_ats"),
      filters: {
        target_guids: (e, v) => v.includes(e.target_guid),
        types: (e, v) => v.includes(e.type),
        space_guids: (e, v) => v.includes(e.space_guid),
        organization_guids: (e, v) => v.includes(e.organization_guid),
      },
      orderBy: { created_at: (e) => e.seq },
    });
    return c.json({ pagination: res.pagination, resources: res.page.map((e) => auditEvent(deps.baseUrl(), e)) });
  });
  r.get("/v3/audit_events/:guid", (c) => {
    const row = deps.db.query("SELECT * FROM cc_audit_events WHERE guid = ?").get(c.req.param("guid")) as AuditRow | null;
    if (!row) throw notFound("Event");
    return c.json(auditEvent(deps.baseUrl(), row));
  });
  return r;
}
