import type { Database } from "bun:sqlite";
import { parseSchedulingHints, SCHEDULING_PREFIX, SchedulingError } from "../opi/index.ts";
import { badQuery, unprocessable } from "./errors.ts";

/**
 * CF V3 metadata: labels and annotations on orgs, spaces, apps, processes
 * and routes (migration 0008 columns `labels`, `annotations`, JSON objects).
 * PATCH merges key by key and a `null` value deletes the key, as Cloud
 * Controller does. Keys and values are checked with CC's rules
 * (MetadataValidatorHelper): an optional DNS-style prefix of at most 253
 * characters (not `cloudfoundry.org`), a name of at most 63 characters of
 * `[A-Za-z0-9_.-]` starting and ending alphanumeric; label values the same
 * charset (or empty), annotation values up to 5000 characters. Scheduling
 * annotations (`scheduling.eirini.cloudfoundry.org/*`) are also checked
 * with the OPI scheduling hints, so a bad value is a 422 here rather than a
 * process the scheduler refuses later.
 */
export interface MetadataPatch {
  labels?: Record<string, string | null>;
  annotations?: Record<string, string | null>;
}

export interface MetadataColumns {
  labels?: string;
  annotations?: string;
}

export const METADATA_TABLES = { org: "cc_orgs", space: "cc_spaces", app: "cc_apps", process: "cc_processes", route: "cc_routes", task: "cc_tasks", build: "cc_builds", package: "cc_packages", domain: "cc_domains" } as const;
export type MetadataResource = keyof typeof METADATA_TABLES;

// CC's defaults for max_labels_per_resource / max_annotations_per_resource.
export const MAX_LABELS = 50;
export const MAX_ANNOTATIONS = 200;

const NAME_CHARS = /^[A-Za-z0-9_.-]+$/;
const ALNUM_ENDS = /^[A-Za-z0-9](.*[A-Za-z0-9])?$/s;
const DNS = /^(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$/i;
const short = (s: string) => (s.length > 8 ? `${s.slice(0, 8)}...` : s);

/** Why a metadata key is invalid (CC's wording), or null. */
export function metadataKeyError(key: string): string | null {
  if (key === "") return "key cannot be empty string";
  const parts = key.split("/");
  if (parts.length > 2) return "key has more than one '/'";
  const [prefix, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : [undefined, parts[0]!];
  if (prefix !== undefined) {
    if (!DNS.test(prefix)) return `prefix '${prefix}' must be in valid dns format`;
    if (prefix.length > 253) return `prefix '${short(prefix)}' is greater than 253 characters`;
    if (prefix.toLowerCase() === "cloudfoundry.org") return "prefix 'cloudfoundry.org' is reserved";
  }
  if (name === "") return "key cannot be empty string";
  if (!NAME_CHARS.test(name)) return `'${name}' contains invalid characters`;
  if (!ALNUM_ENDS.test(name)) return `'${name}' starts or ends with invalid characters`;
  if (name.length > 63) return `'${short(name)}' is greater than 63 characters`;
  return null;
}

/** Why a label value is invalid (CC's wording), or null. Empty is allowed. */
export function labelValueError(value: string): string | null {
  if (value === "") return null;
  if (!NAME_CHARS.test(value)) return `'${value}' contains invalid characters`;
  if (!ALNUM_ENDS.test(value)) return `'${value}' starts or ends with invalid characters`;
  if (value.length > 63) return `'${short(value)}' is greater than 63 characters`;
  return null;
}

/** Checks a PATCH's keys and values; throws 422 CF-UnprocessableEntity naming the key. */
export function validateMetadata(patch: MetadataPatch | undefined): void {
  if (!patch) return;
  for (const [key, value] of Object.entries(patch.labels ?? {})) {
    const kerr = metadataKeyError(key);
    if (kerr) throw unprocessable(`Metadata label key error: ${kerr}`);
    const verr = value === null ? null : labelValueError(value);
    if (verr) throw unprocessable(`Metadata label value error for '${key}': ${verr}`);
  }
  for (const [key, value] of Object.entries(patch.annotations ?? {})) {
    const kerr = metadataKeyError(key);
    if (kerr) throw unprocessable(`Metadata annotation key error: ${kerr}`);
    if (value === null) continue;
    if (value.length > 5000) throw unprocessable(`Metadata annotation value error: '${key}' is greater than 5000 characters`);
    if (key.startsWith(SCHEDULING_PREFIX)) {
      try {
        parseSchedulingHints({ [key]: value });
      } catch (err) {
        if (err instanceof SchedulingError) throw unprocessable(`Metadata annotation value error for '${key}': ${err.message}`);
        throw err;
      }
    }
  }
}

export function parseMap(json: string | undefined): Record<string, string> {
  return json ? (JSON.parse(json) as Record<string, string>) : {};
}

/** An app's LRP `user_defined_annotations`: its space's annotations overlaid by its own (the app wins). */
export function lrpAnnotations(space: MetadataColumns, app: MetadataColumns): Record<string, string> {
  return { ...parseMap(space.annotations), ...parseMap(app.annotations) };
}

/** The V3 `metadata` block of a row. */
export function renderMetadata(row: MetadataColumns): { labels: Record<string, string>; annotations: Record<string, string> } {
  return { labels: parseMap(row.labels), annotations: parseMap(row.annotations) };
}

function merge(current: Record<string, string>, patch: Record<string, string | null> | undefined): Record<string, string> {
  const out = { ...current };
  for (const [k, v] of Object.entries(patch ?? {})) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

/**
 * Merges a validated PATCH into one resource's metadata in the caller's
 * transaction; true when its annotations changed. Too many keys after the
 * merge is a 422 (thrown before anything is written).
 */
export function applyMetadata(db: Database, resource: MetadataResource, guid: string, patch: MetadataPatch | undefined): boolean {
  if (!patch || (!patch.labels && !patch.annotations)) return false;
  const table = METADATA_TABLES[resource];
  const row = db.query(`SELECT labels, annotations FROM ${table} WHERE guid = ?`).get(guid) as MetadataColumns | null;
  if (!row) return false;
  const labels = merge(parseMap(row.labels), patch.labels);
  const annotations = merge(parseMap(row.annotations), patch.annotations);
  if (Object.keys(labels).length > MAX_LABELS) throw unprocessable(`Failed to add ${Object.keys(patch.labels ?? {}).length} labels because it would exceed maximum of ${MAX_LABELS}`);
  if (Object.keys(annotations).length > MAX_ANNOTATIONS) throw unprocessable(`Failed to add ${Object.keys(patch.annotations ?? {}).length} annotations because it would exceed maximum of ${MAX_ANNOTATIONS}`);
  const annotationsJson = JSON.stringify(annotations);
  db.query(`UPDATE ${table} SET labels = ?, annotations = ? WHERE guid = ?`).run(JSON.stringify(labels), annotationsJson, guid);
  return !sameMap(parseMap(row.annotations), annotations);
}

export function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

type Requirement = { key: string; op: "in" | "notin" | "exists" | "absent"; values: string[] };

/**
 * A V3 `label_selector` (`env=prod,tier in (web,api),!beta,team!=x`): every
 * requirement must hold. Malformed selectors are a 400 CF-BadQueryParameter.
 */
export function parseLabelSelector(selector: string): (labels: Record<string, string>) => boolean {
  const reqs: Requirement[] = [];
  const re = /\s*(?:(!)\s*([^\s,=!()]+)|([^\s,=!()]+)\s*(?:(notin|in)\s*\(([^)]*)\)|(!=|==|=)\s*([^\s,()]*))?)\s*(?:,|$)/y;
  let pos = 0;
  while (pos < selector.length) {
    re.lastIndex = pos;
    const m = re.exec(selector);
    if (!m || m[0] === "") throw badQuery(`Invalid label_selector value`);
    pos = re.lastIndex;
    if (m[1]) reqs.push({ key: m[2]!, op: "absent", values: [] });
    else if (m[4]) reqs.push({ key: m[3]!, op: m[4] as "in" | "notin", values: m[5]!.split(",").map((v) => v.trim()) });
    else if (m[6]) reqs.push({ key: m[3]!, op: m[6] === "!=" ? "notin" : "in", values: [m[7]!] });
    else reqs.push({ key: m[3]!, op: "exists", values: [] });
  }
  if (reqs.length === 0) throw badQuery(`Invalid label_selector value`);
  for (const r of reqs) if (metadataKeyError(r.key)) throw badQuery(`Invalid label_selector value`);
  return (labels) =>
    reqs.every((r) => {
      const has = Object.hasOwn(labels, r.key);
      switch (r.op) {
        case "exists":
          return has;
        case "absent":
          return !has;
        case "in":
          return has && r.values.includes(labels[r.key]!);
        case "notin":
          return !has || !r.values.includes(labels[r.key]!);
      }
    });
}
