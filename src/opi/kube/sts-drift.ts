import { LRP as LRPSchema, Routes as RoutesSchema } from "../../model/index.ts";
import type { Obj } from "./client.ts";
import { firstDifference } from "./compare.ts";
import { ANNOTATION, LABEL } from "./keys.ts";
import { INSTANCES_ANNOTATION } from "./lrp-writes.ts";
import { buildStatefulSet, type BuildOptions, type DesiredLRP } from "./objects.ts";
import type { StsRecord } from "./projections.ts";

/**
 * A StatefulSet as the informer keeps it: what our annotations say was
 * desired, and whether the object still matches what we would build from
 * them (`drift`: the first differing field, "" when none). The object is
 * compared the way the API server returns it (compare.ts), so defaulting and
 * omitempty never count as drift.
 */
export function projectStatefulSet(obj: Obj, prev: StsRecord | undefined, build: BuildOptions): StsRecord | null {
  const m = obj.metadata ?? {};
  const a = m.annotations ?? {};
  // Status updates (every pod readiness change) do not touch spec or
  // metadata: reuse the drift verdict instead of rebuilding the object.
  const fingerprint = `${m.generation ?? ""}|${JSON.stringify(m.labels ?? {})}|${obj.spec?.replicas}`;
  const rec: StsRecord = {
    name: m.name,
    rv: String(m.resourceVersion ?? ""),
    uid: String(m.uid ?? ""),
    processGuid: String(a[ANNOTATION.processGuid] ?? ""),
    guid: String(m.labels?.[LABEL.guid] ?? ""),
    version: String(m.labels?.[LABEL.version] ?? ""),
    replicas: Number(obj.spec?.replicas ?? 0),
    instances: Number(a[INSTANCES_ANNOTATION] ?? obj.spec?.replicas ?? 0),
    readyReplicas: Number(obj.status?.readyReplicas ?? 0),
    lrpJson: String(a[ANNOTATION.lrp] ?? ""),
    routesJson: String(a[ANNOTATION.routes] ?? "{}"),
    lastUpdated: String(a[ANNOTATION.lastUpdated] ?? ""),
    drift: "",
    fingerprint,
    deleting: Boolean(m.deletionTimestamp),
  };
  if (!rec.processGuid) return null;
  if (prev && prev.fingerprint === fingerprint && prev.lrpJson === rec.lrpJson && prev.routesJson === rec.routesJson && prev.instances === rec.instances) {
    return { ...rec, guid: prev.guid, version: prev.version, drift: prev.drift, lrpJson: prev.lrpJson };
  }
  const d = desiredFromRecord(rec);
  if (!d) rec.drift = "metadata.annotations";
  else {
    rec.guid = d.template.guid;
    rec.version = d.template.version;
    if (d.instances !== rec.replicas) rec.drift = "spec.replicas";
    else {
      try {
        const want = buildStatefulSet(build, d);
        rec.drift =
          firstDifference(want.spec.template, obj.spec?.template, "spec.template") ??
          firstDifference(want.spec.selector, obj.spec?.selector, "spec.selector") ??
          firstDifference(want.metadata.labels, m.labels, "metadata.labels") ??
          "";
      } catch (err) {
        rec.drift = `unbuildable: ${(err as Error).message}`;
      }
    }
  }
  return rec;
}

/** The desired LRP a StatefulSet describes in its own annotations (null: unreadable). */
export function desiredFromRecord(rec: StsRecord): DesiredLRP | null {
  try {
    const template = LRPSchema.parse(JSON.parse(rec.lrpJson));
    const routes = RoutesSchema.parse(JSON.parse(rec.routesJson));
    return { template, instances: Number.isInteger(rec.instances) && rec.instances >= 0 ? rec.instances : rec.replicas, routes, lastUpdated: rec.lastUpdated };
  } catch {
    return null;
  }
}

