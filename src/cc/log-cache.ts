import { Hono } from "hono";
import type { CcDeps, CcEnv } from "./deps.ts";
import type { StoredLog } from "./ports.ts";

/**
 * A log-cache-compatible read API over the bounded per-app log store:
 * `GET /api/v1/read/:source_id` with start_time/end_time (ns, [start, end)),
 * envelope_types, limit (<= 1000) and descending, answering
 * `{"envelopes":{"batch":[...]}}` in loggregator v2 JSON (int64 as strings,
 * log payload base64), which go-log-cache decodes for `cf logs`.
 */
const ENVELOPE_TYPES = new Set(["ANY", "LOG", "COUNTER", "GAUGE", "TIMER", "EVENT"]);

function lcError(status: 400 | 404, message: string): Response {
  return new Response(JSON.stringify({ error: message }), { status, headers: { "content-type": "application/json" } });
}

function ns(v: string | null, name: string): bigint | undefined | Response {
  if (v === null || v === "") return undefined;
  if (!/^-?\d{1,19}$/.test(v)) return lcError(400, `${name} must be an integer number of nanoseconds`);
  return BigInt(v);
}

export function envelope(l: StoredLog) {
  return {
    timestamp: l.timestamp.toString(),
    source_id: l.source_id,
    instance_id: l.instance_id,
    tags: { source_type: l.source_type },
    log: { payload: Buffer.from(l.message, "utf8").toString("base64"), type: l.stream },
  };
}

export function logCacheRoutes(deps: CcDeps, startedAt: number): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  r.get("/api/v1/info", (c) => c.json({ version: "3.0.0", vm_uptime: String(Math.floor((deps.clock.now().getTime() - startedAt) / 1000)) }));
  r.get("/api/v1/read/:source_id", (c) => {
    const url = new URL(c.req.url);
    const q = url.searchParams;
    const start = ns(q.get("start_time"), "start_time");
    if (start instanceof Response) return start;
    const end = ns(q.get("end_time"), "end_time");
    if (end instanceof Response) return end;
    const limitRaw = q.get("limit");
    if (limitRaw !== null && (!/^\d+$/.test(limitRaw) || Number(limitRaw) > 1000)) return lcError(400, "limit must be an integer no greater than 1000");
    const types = [...q.getAll("envelope_types"), ...q.getAll("envelope_type")].flatMap((t) => t.split(",")).map((t) => t.toUpperCase());
    const unknown = types.filter((t) => !ENVELOPE_TYPES.has(t));
    if (unknown.length) return lcError(400, `unknown envelope type(s): ${unknown.join(", ")}`);
    const wantsLogs = types.length === 0 || types.includes("LOG") || types.includes("ANY");
    const descending = q.get("descending") === "true";
    const lines = wantsLogs
      ? deps.ports.logs.read(c.req.param("source_id"), { startTime: start, endTime: end, limit: limitRaw === null ? 100 : Math.max(1, Number(limitRaw)), descending })
      : [];
    return c.json({ envelopes: { batch: lines.map(envelope) } });
  });
  return r;
}
