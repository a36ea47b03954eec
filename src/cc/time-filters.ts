import { badQuery } from "./errors.ts";

const OPS = ["lt", "lte", "gt", "gte"] as const;

/** The query keys of CF's timestamp filters for one field: `created_ats`, `created_ats[lt]`, ... */
export const timestampKeys = (field: string): string[] => [field, ...OPS.map((op) => `${field}[${op}]`)];

/**
 * CF's timestamp filters (`created_ats=T1,T2` exact matches; `created_ats[gt]=T`
 * and lt/lte/gte relational ones, several combinable), as a row predicate.
 * Timestamps are RFC 3339 UTC at second precision, as CF renders them; a
 * malformed one is a 400 naming the parameter.
 */
export function timestampFilter(params: URLSearchParams, field: string): (iso: string) => boolean {
  const checks: ((sec: number) => boolean)[] = [];
  const parse = (key: string, raw: string): number => {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(raw) || Number.isNaN(Date.parse(raw))) throw badQuery(`${key} must be RFC 3339 UTC timestamps like 2020-01-31T12:00:00Z, got '${raw}'`);
    return Math.floor(Date.parse(raw) / 1000);
  };
  const exact = params.get(field);
  if (exact !== null) {
    const set = new Set(exact.split(",").map((v) => parse(field, v)));
    checks.push((s) => set.has(s));
  }
  for (const op of OPS) {
    const key = `${field}[${op}]`;
    const raw = params.get(key);
    if (raw === null) continue;
    const t = parse(key, raw);
    checks.push(op === "lt" ? (s) => s < t : op === "lte" ? (s) => s <= t : op === "gt" ? (s) => s > t : (s) => s >= t);
  }
  return (iso) => {
    const sec = Math.floor(Date.parse(iso) / 1000);
    return checks.every((c) => c(sec));
  };
}
