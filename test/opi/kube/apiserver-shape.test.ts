import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { createLogger } from "../../../src/log/index.ts";
import { LRP as LRPSchema, Task as TaskSchema, type LRP, type Task } from "../../../src/model/index.ts";
import { buildPDB, buildRouteService, buildStatefulSet, buildTaskJob, desiredFromLRP, dockerConfigJson } from "../../../src/opi/kube/index.ts";
import { firstDifference } from "../../../src/opi/kube/compare.ts";
import { waitFor } from "../../support/poll.ts";
import { cleanupTempDirs } from "../../support/tmp.ts";
import { kubeSetup, NS, type KubeSetup } from "./harness.ts";

/**
 * Emulator fidelity: objects read back the way a real apiserver returns them
 * (defaulting, omitempty dropping, canonical quantities), and the backend's
 * desired-vs-actual check agrees with that shape, so steady state writes
 * nothing and logs no drift.
 */
afterAll(cleanupTempDirs);

let s: KubeSetup | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const build = { namespace: NS, cfApi: "http://127.0.0.1:7080", registryAddress: "registry.eirini.test:5000", pullSecret: "eirini-registry" };

function lrp(): LRP {
  const guid = crypto.randomUUID();
  return LRPSchema.parse({
    guid,
    version: "v1",
    process_guid: `${guid}-v1`,
    app_guid: guid,
    app_name: "shape",
    space_name: "dev",
    instances: 2,
    memory_mb: 1024,
    health_check_type: "http",
    environment: { EMPTY: "", SET: "x" },
    routes: { "cf-router": [{ hostname: "shape.apps.example.com", port: 8080 }] },
    lifecycle: { buildpack_lifecycle: { droplet_guid: "d1", droplet_hash: "b".repeat(64), start_command: "node server.js" } },
  });
}

async function api(k: KubeSetup, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${k.kube.url}${path}`, { method, headers: { authorization: `Bearer ${k.kube.token}`, "content-type": "application/json" }, body: body ? JSON.stringify(body) : undefined });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

describe("the emulator returns objects as a real apiserver does", () => {
  test("StatefulSet: defaults added, omitempty zero values dropped, pointer zeros kept, quantities canonical", async () => {
    s = await kubeSetup({ start: false });
    const want = buildStatefulSet(build, desiredFromLRP(lrp()));
    want.spec.replicas = 0;
    const got = await api(s, "POST", `/apis/apps/v1/namespaces/${NS}/statefulsets`, want);
    const c = got.spec.template.spec.containers[0];
    // omitempty on a non-pointer int32: initialDelaySeconds 0 is not encoded.
    expect(want.spec.template.spec.containers[0].readinessProbe.initialDelaySeconds).toBe(0);
    expect("initialDelaySeconds" in c.readinessProbe).toBe(false);
    // EnvVar.Value is `string,omitempty`.
    expect(c.env.find((e: any) => e.name === "EMPTY")).toEqual({ name: "EMPTY" });
    // Pointer zeros survive: *int32 replicas and partition, *bool automountServiceAccountToken.
    expect(got.spec.replicas).toBe(0);
    expect(got.spec.updateStrategy.rollingUpdate.partition).toBe(0);
    expect(got.spec.template.spec.automountServiceAccountToken).toBe(false);
    // Defaulting.
    expect(got.spec.template.spec.dnsPolicy).toBe("ClusterFirst");
    expect(got.spec.template.spec.terminationGracePeriodSeconds).toBe(30);
    expect(c.terminationMessagePath).toBe("/dev/termination-log");
    expect(c.imagePullPolicy).toBe("IfNotPresent");
    expect(got.spec.template.metadata.creationTimestamp).toBeNull();
    expect(c.env.find((e: any) => e.name === "POD_NAME")?.valueFrom?.fieldRef?.apiVersion ?? "v1").toBe("v1");
    expect(c.resources.limits.memory).toBe("1Gi");
    // And the backend's comparison finds no difference in that shape.
    expect(firstDifference(want.spec.template, got.spec.template, "spec.template")).toBeNull();
  });

  test("Job, Service, PDB and Secret read back in the apiserver's shape and compare equal", async () => {
    s = await kubeSetup({ start: false });
    const l = lrp();
    const task: Task = TaskSchema.parse({
      guid: crypto.randomUUID(), name: "migrate", app_guid: l.app_guid, app_name: "shape", space_name: "dev", command: "echo hi",
      environment: { EMPTY: "" }, memory_mb: 256, disk_mb: 256, lifecycle: { buildpack_lifecycle: { droplet_guid: "d1", droplet_hash: "b".repeat(64) } },
    });
    const job = buildTaskJob(build, task, 3600);
    const gotJob = await api(s, "POST", `/apis/batch/v1/namespaces/${NS}/jobs`, job);
    expect(gotJob.spec.backoffLimit).toBe(0);
    expect(gotJob.spec.completionMode).toBe("NonIndexed");
    expect(gotJob.spec.template.metadata.labels["job-name"]).toBe(job.metadata.name);
    expect(firstDifference(job.spec.template.spec, gotJob.spec.template.spec)).toBeNull();

    const owner = { metadata: { name: "o", uid: "u" } };
    const svc = buildRouteService(build, l, { hostname: "shape.apps.example.com", port: 8080 }, owner);
    const gotSvc = await api(s, "POST", `/api/v1/namespaces/${NS}/services`, svc);
    expect(gotSvc.spec).toMatchObject({ type: "ClusterIP", sessionAffinity: "None", ipFamilies: ["IPv4"], ipFamilyPolicy: "SingleStack", internalTrafficPolicy: "Cluster" });
    expect(gotSvc.spec.clusterIPs).toEqual([gotSvc.spec.clusterIP]);
    expect(firstDifference(svc.spec, gotSvc.spec)).toBeNull();

    const pdb = buildPDB(build, l, owner);
    const gotPdb = await api(s, "POST", `/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets`, pdb);
    expect(gotPdb.spec.minAvailable).toBe("50%");
    expect(firstDifference(pdb.spec, gotPdb.spec)).toBeNull();

    const sec = await api(s, "POST", `/api/v1/namespaces/${NS}/secrets`, {
      metadata: { name: "s1", labels: {} },
      type: "kubernetes.io/dockerconfigjson",
      stringData: { ".dockerconfigjson": dockerConfigJson("r:1", "u", "p") },
    });
    expect(sec.stringData).toBeUndefined();
    expect(JSON.parse(Buffer.from(sec.data[".dockerconfigjson"], "base64").toString()).auths["r:1"].username).toBe("u");
    expect(sec.metadata.labels).toBeUndefined();
    const opaque = await api(s, "POST", `/api/v1/namespaces/${NS}/secrets`, { metadata: { name: "s2" }, data: {} });
    expect(opaque.type).toBe("Opaque");
    expect(opaque.data).toBeUndefined();
  });
});

describe("steady state", () => {
  test("restart adopts with zero writes; resyncs, relists and status churn send no update and log no drift", async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "debug", write: (l) => void lines.push(l) });
    s = await kubeSetup({ backend: { logger } });
    const ls = [lrp(), lrp(), lrp()];
    for (const l of ls) await s.backend.desireLRP(l);
    await waitFor(async () => (await Promise.all(ls.map((l) => s!.backend.getInstances(l.process_guid)))).every((xs) => xs.every((i) => i.state === "RUNNING")), { what: "all running" });
    s.kube.counter.reset();
    // An appliance restart: a second backend adopts what is there.
    const second = await s.make({ logger });
    await second.start();
    for (const l of ls) await second.desireLRP(l);
    // A span of steady state: watches expire and relist (the informers' resync), pods churn status.
    for (let round = 0; round < 3; round++) {
      await waitFor(() => s!.kube.store.watchers.size === 12, { what: "both backends watching" });
      const before = second.sts.relists;
      s.kube.expireWatches({ compact: true });
      await waitFor(() => second.sts.relists > before, { what: "relist after 410", timeoutMs: 5000 });
      for (const p of s.kube.list("pods", NS)) {
        const copy = structuredClone(p);
        copy.status.conditions = [...(copy.status.conditions ?? []), { type: "ContainersReady", status: "True" }];
        s.kube.replace("pods", NS, p.metadata.name, copy);
      }
      for (const st of s.kube.list("statefulsets", NS)) s.kube.replace("statefulsets", NS, st.metadata.name, { ...st, status: { ...st.status, observedGeneration: st.metadata.generation } });
    }
    await waitFor(() => second.sts.cache.size === ls.length, { what: "caches" });
    const writes = Object.entries(s.kube.counter.snapshot()).filter(([k]) => /^(create|update|patch|delete)/.test(k));
    expect(writes).toEqual([]);
    expect(lines.filter((l) => /differs from its desired state/.test(l))).toEqual([]);
  }, 30_000);
});

describe("pods/log as the kubelet serves it", () => {
  test("timestamps, sinceTime, tailLines, previous; follow ends when the container terminates", async () => {
    s = await kubeSetup({ start: false });
    const k = s.kube;
    k.sim.autoRun = false;
    k.create("pods", NS, { metadata: { name: "logger-0" }, spec: { containers: [{ name: "opi", image: "x:1" }] }, status: { phase: "Pending" } });
    k.sim.run(NS, "logger-0", true);
    k.sim.appendLog(NS, "logger-0", "one\ntwo\n");
    const get = async (q: string) => (await fetch(`${k.url}/api/v1/namespaces/${NS}/pods/logger-0/log?${q}`, { headers: { authorization: `Bearer ${k.token}` } })).text();
    const stamped = (await get("timestamps=true")).trim().split("\n");
    expect(stamped).toHaveLength(2);
    expect(stamped[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z one$/);
    expect(await get("tailLines=1")).toBe("two\n");
    expect(await get(`sinceTime=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toBe("");
    // follow: streams what comes, ends when the container dies; the restarted container has a new log.
    const res = await fetch(`${k.url}/api/v1/namespaces/${NS}/pods/logger-0/log?follow=true`, { headers: { authorization: `Bearer ${k.token}` } });
    const text = res.text();
    k.sim.appendLog(NS, "logger-0", "three\n");
    k.sim.crash(NS, "logger-0", { exitCode: 1, backoff: false });
    expect(await text).toBe("one\ntwo\nthree\n");
    k.sim.appendLog(NS, "logger-0", "after restart\n");
    expect(await get("")).toBe("after restart\n");
    expect(await get("previous=true")).toBe("one\ntwo\nthree\n");
  });
});
