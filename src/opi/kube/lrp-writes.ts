import type { LRP } from "../../model/index.ts";
import { OpiInvalidError } from "../backend.ts";
import type { KubeClient, Kind, Obj } from "./client.ts";
import { KubeApiError } from "./errors.ts";
import type { Informer } from "./informer.ts";
import { ANNOTATION } from "./keys.ts";
import { buildPDB, buildStatefulSet, routesOf, type BuildOptions, type DesiredLRP } from "./objects.ts";
import { pdbSpecKey, type PdbRecord, type ServiceRecord, type StsRecord } from "./projections.ts";

/** Desired instances as last written: a hand-edited replicas count is put back to it. */
export const INSTANCES_ANNOTATION = "cloudfoundry.org/instances";

/**
 * The writes that make one process's objects match what is desired: the
 * StatefulSet (create, replace when the template changed or drifted, patch
 * replicas and annotations otherwise), its PDB and its route Services or
 * Ingresses. Each compares the informer's view first and writes only what
 * differs; conflicts and races with other writers are retried from a fresh
 * read. Called from the backend's per-process queue, one call at a time.
 */
export interface LrpWriterOptions {
  client: KubeClient;
  build: BuildOptions;
  sts: Informer<StsRecord>;
  pdbs: Informer<PdbRecord>;
  stsFor(pg: string): StsRecord | undefined;
}

export class LrpWriter {
  constructor(private readonly o: LrpWriterOptions) {}

  /** Create or put back the StatefulSet; returns the owner (name + uid) for dependents. */
  async statefulSet(pg: string, d: DesiredLRP): Promise<{ name: string; uid: string }> {
    const want = buildStatefulSet(this.o.build, d);
    want.metadata.annotations[INSTANCES_ANNOTATION] = String(d.instances);
    for (let attempt = 0; attempt < 5; attempt++) {
      const rec = this.o.stsFor(pg);
      if (!rec) {
        try {
          const created = await this.o.client.create("statefulsets", want);
          this.o.sts.observe(created);
          return { name: created.metadata.name, uid: created.metadata.uid };
        } catch (err) {
          if (!(err instanceof KubeApiError && err.alreadyExists)) throw err;
          const cur = await this.o.client.get("statefulsets", want.metadata.name);
          if (cur) this.o.sts.observe(cur);
          if (!this.o.stsFor(pg)) throw new OpiInvalidError(`StatefulSet ${want.metadata.name} exists but belongs to another process`);
          continue;
        }
      }
      const a = want.metadata.annotations as Record<string, string>;
      const annotationsDiffer = rec.lrpJson !== a[ANNOTATION.lrp] || rec.routesJson !== a[ANNOTATION.routes] || rec.lastUpdated !== a[ANNOTATION.lastUpdated] || rec.instances !== d.instances;
      const templateDiffers = rec.lrpJson !== a[ANNOTATION.lrp] || rec.drift !== "";
      try {
        if (templateDiffers) {
          // New droplet/image or a hand edit: replace the whole object (rolls the pods if the template changed).
          const replaced = await this.o.client.replace("statefulsets", rec.name, { ...want, metadata: { ...want.metadata, name: rec.name, resourceVersion: rec.rv } });
          this.o.sts.observe(replaced);
        } else if (annotationsDiffer || rec.replicas !== d.instances) {
          // Scale and route/stamp changes: replicas and annotations only.
          const patch: Obj = { metadata: { resourceVersion: rec.rv, annotations: {} as Record<string, string> } };
          if (rec.routesJson !== a[ANNOTATION.routes]) patch.metadata.annotations[ANNOTATION.routes] = a[ANNOTATION.routes];
          if (rec.lastUpdated !== a[ANNOTATION.lastUpdated]) patch.metadata.annotations[ANNOTATION.lastUpdated] = a[ANNOTATION.lastUpdated];
          if (rec.instances !== d.instances) patch.metadata.annotations[INSTANCES_ANNOTATION] = String(d.instances);
          if (rec.replicas !== d.instances) patch.spec = { replicas: d.instances };
          const patched = await this.o.client.patch("statefulsets", rec.name, patch);
          this.o.sts.observe(patched);
        }
        return { name: rec.name, uid: rec.uid };
      } catch (err) {
        if (err instanceof KubeApiError && err.conflict) {
          const cur = await this.o.client.get("statefulsets", rec.name);
          if (cur) this.o.sts.observe(cur);
          else this.o.sts.forget(rec.name);
          continue;
        }
        if (err instanceof KubeApiError && err.notFound) {
          this.o.sts.forget(rec.name);
          continue;
        }
        throw err;
      }
    }
    throw new KubeApiError(`StatefulSet for ${pg} kept changing under us (5 conflicts in a row)`, 409, "Conflict", "update", "statefulsets");
  }

  async pdb(lrp: LRP, owner: { name: string; uid: string }): Promise<void> {
    const name = owner.name;
    const rec = this.o.pdbs.get(name);
    if (lrp.instances <= 1) {
      if (rec) {
        await this.o.client.delete("poddisruptionbudgets", name);
        this.o.pdbs.forget(name);
      }
      return;
    }
    const want = buildPDB(this.o.build, lrp, { metadata: owner });
    want.metadata.name = name;
    if (rec && rec.spec === pdbSpecKey(want) && rec.ownerUid === owner.uid) return;
    if (!rec) {
      try {
        this.o.pdbs.observe(await this.o.client.create("poddisruptionbudgets", want));
        return;
      } catch (err) {
        if (!(err instanceof KubeApiError && err.alreadyExists)) throw err;
        const cur = await this.o.client.get("poddisruptionbudgets", name);
        if (cur) this.o.pdbs.observe(cur);
        const again = this.o.pdbs.get(name);
        if (!again || (again.spec === pdbSpecKey(want) && again.ownerUid === owner.uid)) return;
      }
    }
    const cur = this.o.pdbs.get(name)!;
    this.o.pdbs.observe(await this.o.client.replace("poddisruptionbudgets", name, { ...want, metadata: { ...want.metadata, resourceVersion: cur.rv } }));
  }

  async routeObjects(
    kind: Kind,
    inf: Informer<ServiceRecord>,
    byPg: Map<string, Set<string>>,
    lrp: LRP,
    owner: { name: string; uid: string },
    build: (route: { hostname: string; port: number }) => Obj,
    key: (o: Obj) => string,
  ): Promise<void> {
    const wanted = new Map(routesOf(lrp.routes).map((r) => [build(r).metadata.name as string, build(r)]));
    for (const [name, want] of wanted) {
      const rec = inf.get(name);
      if (rec && rec.spec === key(want) && rec.ownerUid === owner.uid) continue;
      try {
        if (!rec) inf.observe(await this.o.client.create(kind, want));
        else inf.observe(await this.o.client.replace(kind, name, { ...want, metadata: { ...want.metadata, resourceVersion: rec.rv }, ...(kind === "services" ? { spec: { ...want.spec } } : {}) }));
      } catch (err) {
        if (err instanceof KubeApiError && (err.alreadyExists || err.conflict)) {
          const cur = await this.o.client.get(kind, name);
          if (cur) {
            inf.observe(cur);
            const again = inf.get(name)!;
            if (again.spec !== key(want) || again.ownerUid !== owner.uid) inf.observe(await this.o.client.replace(kind, name, { ...want, metadata: { ...want.metadata, resourceVersion: again.rv } }));
          }
          continue;
        }
        throw err;
      }
    }
    for (const name of [...(byPg.get(lrp.process_guid) ?? [])]) {
      if (wanted.has(name)) continue;
      await this.o.client.delete(kind, name);
      inf.forget(name);
    }
  }

}
