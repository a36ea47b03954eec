import type { Context } from "hono";
import { badQuery } from "./errors.ts";
import { parseLabelSelector, parseMap } from "./metadata.ts";

/**
 * V3 list semantics: comma-separated filters, `page`/`per_page` (max 5000),
 * `order_by` with `-` for descending, and the `pagination` block the CLI's
 * paginator follows (ccv3/paginated_resources.go reads `pagination.next.href`).
 * Unknown query parameters are a 400 CF-BadQueryParameter, as in CC.
 * `label_selector` filters on the rows' `labels` column (metadata.ts).
 */
export interface ListSpec<T> {
  filters?: Record<string, (row: T, values: string[]) => boolean>;
  orderBy?: Record<string, (row: T) => string | number>;
  /** Extra parameters the endpoint understands (e.g. include, label_selector). */
  extra?: string[];
}

const COMMON = ["page", "per_page", "order_by", "label_selector", "include", "fields", "created_ats", "updated_ats"];

export interface ListResult<T> {
  page: T[];
  total: number;
  pagination: Record<string, unknown>;
  params: URLSearchParams;
}

/**
 * A filter's comma-separated values. URLSearchParams has already decoded the
 * query once (decoding again turned `names=%25` into a 500 and made `disc%41`
 * unfindable), and empty values are kept: `paths=` asks for the routes with
 * no path, as the cf CLI sends it for `unmap-route`, `map-route` and `delete-route`.
 */
export function splitValues(v: string): string[] {
  return v.split(",");
}

export function positiveInt(params: URLSearchParams, key: string, fallback: number, max: number): number {
  const raw = params.get(key);
  if (raw === null) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw badQuery(`${key} must be between 1 and ${max}`);
  return Number(raw);
}

export function listRows<T extends { created_at: string; updated_at?: string }>(c: Context, base: string, rows: T[], spec: ListSpec<T> = {}): ListResult<T> {
  const url = new URL(c.req.url);
  const params = url.searchParams;
  const filters = spec.filters ?? {};
  const allowed = new Set([...COMMON, ...Object.keys(filters), ...(spec.extra ?? [])]);
  const unknown = [...new Set(params.keys())].filter((k) => !allowed.has(k));
  if (unknown.length > 0) throw badQuery(`Unknown query parameter(s): '${unknown.join("', '")}'`);
  const perPage = positiveInt(params, "per_page", 50, 5000);
  const pageNo = positiveInt(params, "page", 1, Number.MAX_SAFE_INTEGER);

  let out = rows;
  for (const [key, match] of Object.entries(filters)) {
    const raw = params.get(key);
    if (raw === null) continue;
    const values = splitValues(raw);
    out = out.filter((r) => match(r, values));
  }
  const selector = params.get("label_selector");
  if (selector !== null && selector.trim() !== "") {
    // Resources without metadata columns (domains, tasks, ...) have no labels: only negative requirements match them.
    const matches = parseLabelSelector(selector);
    out = out.filter((r) => matches(parseMap((r as { labels?: string }).labels)));
  }

  const orderRaw = params.get("order_by") ?? "created_at";
  const desc = orderRaw.startsWith("-");
  const orderKey = orderRaw.replace(/^[-+]/, "");
  const orders: Record<string, (row: T) => string | number> = {
    created_at: (r) => r.created_at,
    updated_at: (r) => r.updated_at ?? r.created_at,
    ...spec.orderBy,
  };
  // Own keys only: `order_by=constructor` or `__proto__` must not find Object.prototype's members.
  const key = Object.hasOwn(orders, orderKey) ? orders[orderKey] : undefined;
  if (!key) throw badQuery(`order_by can only be: '${Object.keys(orders).join("', '")}'`);
  const indexed = out.map((r, i) => ({ r, i, k: key(r) }));
  indexed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i) * (desc ? -1 : 1));
  out = indexed.map((x) => x.r);

  const total = out.length;
  const totalPages = Math.max(1, Math.ceil(total / perPage));
  const link = (p: number) => {
    const q = new URLSearchParams(params);
    q.set("page", String(p));
    q.set("per_page", String(perPage));
    return { href: `${base}${url.pathname}?${q.toString()}` };
  };
  const start = (pageNo - 1) * perPage;
  return {
    page: out.slice(start, start + perPage),
    total,
    params,
    pagination: {
      total_results: total,
      total_pages: totalPages,
      first: link(1),
      last: link(totalPages),
      next: pageNo < totalPages ? link(pageNo + 1) : null,
      previous: pageNo > 1 ? link(pageNo - 1) : null,
    },
  };
}

/** The `include` values asked for, checked against what the endpoint offers. */
export function includes(params: URLSearchParams, offered: string[]): Set<string> {
  const raw = params.get("include");
  if (raw === null) return new Set();
  const asked = splitValues(raw).filter((a) => a !== "");
  const bad = asked.filter((a) => !offered.includes(a));
  if (bad.length > 0) throw badQuery(`Invalid included resource: '${bad.join("', '")}'`);
  return new Set(asked);
}

/**
 * The same V3 list semantics as `listRows`, answered by SQLite: filters are
 * `column IN (...)`, the order and the page are ORDER BY / LIMIT / OFFSET,
 * the total a COUNT. Only the page's rows are loaded, so the first page of a
 * list costs the same at 10 rows or 10,000. `scope` is the caller's
 * visibility (authz.ts). Returns null when the query asks for what only the
 * in-memory path does (label_selector, timestamp filters): callers fall back.
 */
export interface SqlListSpec {
  select: string;
  from: string;
  scope: { sql: string; args: string[] };
  /** A column matched with IN, or SQL built around the values' placeholders (e.g. a subquery). */
  filters: Record<string, string | ((placeholders: string) => string)>;
  orderBy: Record<string, string>;
  /** A unique column that breaks ties, so pages never overlap. */
  tiebreak: string;
  extra?: string[];
}

export function sqlList<T>(c: Context, base: string, db: import("bun:sqlite").Database, spec: SqlListSpec): ListResult<T> | null {
  const url = new URL(c.req.url);
  const params = url.searchParams;
  const allowed = new Set([...COMMON, ...Object.keys(spec.filters), ...(spec.extra ?? [])]);
  const unknown = [...new Set(params.keys())].filter((k) => !allowed.has(k));
  if (unknown.length > 0) throw badQuery(`Unknown query parameter(s): '${unknown.join("', '")}'`);
  if ((params.get("label_selector") ?? "").trim() !== "" || [...params.keys()].some((k) => k.startsWith("created_ats") || k.startsWith("updated_ats"))) return null;
  const perPage = positiveInt(params, "per_page", 50, 5000);
  const pageNo = positiveInt(params, "page", 1, Number.MAX_SAFE_INTEGER);
  const where = [spec.scope.sql];
  const args: (string | number)[] = [...spec.scope.args];
  for (const [key, column] of Object.entries(spec.filters)) {
    const raw = params.get(key);
    if (raw === null) continue;
    const values = splitValues(raw);
    const ph = values.map(() => "?").join(", ");
    where.push(typeof column === "function" ? column(ph) : `${column} IN (${ph})`);
    args.push(...values);
  }
  const orderRaw = params.get("order_by") ?? "created_at";
  const desc = orderRaw.startsWith("-");
  const orderKey = orderRaw.replace(/^[-+]/, "");
  const orders: Record<string, string> = { ...spec.orderBy };
  const column = Object.hasOwn(orders, orderKey) ? orders[orderKey] : undefined;
  if (!column) throw badQuery(`order_by can only be: '${Object.keys(orders).join("', '")}'`);
  const whereSql = where.join(" AND ");
  const total = (db.query(`SELECT COUNT(*) AS n FROM ${spec.from} WHERE ${whereSql}`).get(...args) as { n: number }).n;
  const dir = desc ? "DESC" : "ASC";
  const page = db
    .query(`SELECT ${spec.select} FROM ${spec.from} WHERE ${whereSql} ORDER BY ${column} ${dir}, ${spec.tiebreak} ${dir} LIMIT ? OFFSET ?`)
    .all(...args, perPage, (pageNo - 1) * perPage) as T[];
  const totalPages = Math.max(1, Math.ceil(total / perPage));
  const link = (p: number) => {
    const q = new URLSearchParams(params);
    q.set("page", String(p));
    q.set("per_page", String(perPage));
    return { href: `${base}${url.pathname}?${q.toString()}` };
  };
  return {
    page,
    total,
    params,
    pagination: {
      total_results: total,
      total_pages: totalPages,
      first: link(1),
      last: link(totalPages),
      next: pageNo < totalPages ? link(pageNo + 1) : null,
      previous: pageNo > 1 ? link(pageNo - 1) : null,
    },
  };
}
