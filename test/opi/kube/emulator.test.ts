import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { startKubeEmulator, type KubeEmulator } from "../../support/kube/index.ts";
import { waitFor } from "../../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../../support/tmp.ts";

// The emulator, exercised through the real client-node over real HTTP.
let kube: KubeEmulator;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let batch: k8s.BatchV1Api;
const ns = "apps";

beforeAll(async () => {
  kube = await startKubeEmulator({ namespaces: [ns] });
  kc = new k8s.KubeConfig();
  kc.loadFromFile(kube.writeKubeconfig(tempDir()));
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  batch = kc.makeApiClient(k8s.BatchV1Api);
});
afterAll(async () => {
  await kube.stop();
  cleanupTempDirs();
});

function sts(name: string, replicas = 2, labels: Record<string, string> = { app: name }): k8s.V1StatefulSet {
  return {
    metadata: { name, labels },
    spec: {
      replicas,
      podManagementPolicy: "Parallel",
      serviceName: "",
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: "app", image: "busybox:1", resources: { limits: { memory: "1024Mi" } } }] } },
    },
  };
}

async function apiError(p: Promise<unknown>): Promise<{ code: number; body: any }> {
  try {
    await p;
  } catch (err) {
    const e = err as k8s.ApiException<string>;
    return { code: e.code, body: JSON.parse(e.body) };
  }
  throw new Error("expected the call to fail");
}

describe("kube emulator through client-node", () => {
  test("create, AlreadyExists, stale update Conflict, NotFound Status body", async () => {
    const created = await apps.createNamespacedStatefulSet({ namespace: ns, body: sts("web") });
    expect(Number(created.metadata!.resourceVersion)).toBeGreaterThan(0);
    expect(created.metadata!.generation).toBe(1);
    expect(created.spec!.template.spec!.containers[0]!.resources!.limits!.memory).toBe("1Gi");
    const dup = await apiError(apps.createNamespacedStatefulSet({ namespace: ns, body: sts("web") }));
    expect(dup.code).toBe(409);
    expect(dup.body.reason).toBe("AlreadyExists");
    const fresh = await apps.readNamespacedStatefulSet({ name: "web", namespace: ns });
    fresh.spec!.replicas = 3;
    const updated = await apps.replaceNamespacedStatefulSet({ name: "web", namespace: ns, body: fresh });
    expect(Number(updated.metadata!.resourceVersion)).toBeGreaterThan(Number(fresh.metadata!.resourceVersion));
    const stale = await apiError(apps.replaceNamespacedStatefulSet({ name: "web", namespace: ns, body: fresh }));
    expect(stale.code).toBe(409);
    expect(stale.body.reason).toBe("Conflict");
    const missing = await apiError(core.readNamespacedPod({ name: "nope", namespace: ns }));
    expect(missing.code).toBe(404);
    expect(missing.body).toMatchObject({ kind: "Status", apiVersion: "v1", status: "Failure", message: 'pods "nope" not found', reason: "NotFound", code: 404 });
  });

  test("server-side validation: names, labels, selector vs template labels, immutable fields", async () => {
    const bad = await apiError(apps.createNamespacedStatefulSet({ namespace: ns, body: sts("Bad_Name") }));
    expect(bad.code).toBe(422);
    expect(bad.body.reason).toBe("Invalid");
    const longLabel = await apiError(apps.createNamespacedStatefulSet({ namespace: ns, body: sts("x", 1, { app: "a".repeat(64) }) }));
    expect(longLabel.code).toBe(422);
    const mismatch = sts("mismatch");
    mismatch.spec!.template.metadata!.labels = { app: "other" };
    const m = await apiError(apps.createNamespacedStatefulSet({ namespace: ns, body: mismatch }));
    expect(m.body.message).toContain("`selector` does not match template `labels`");
    await apps.createNamespacedStatefulSet({ namespace: ns, body: sts("immut", 0) });
    const cur = await apps.readNamespacedStatefulSet({ name: "immut", namespace: ns });
    cur.spec!.podManagementPolicy = "OrderedReady";
    const im = await apiError(apps.replaceNamespacedStatefulSet({ name: "immut", namespace: ns, body: cur }));
    expect(im.code).toBe(422);
    const svc = await apiError(core.createNamespacedService({ namespace: ns, body: { metadata: { name: "1svc" }, spec: { ports: [{ port: 80 }] } } }));
    expect(svc.code).toBe(422);
    const noNs = await apiError(core.createNamespacedSecret({ namespace: "missing", body: { metadata: { name: "s" } } }));
    expect(noNs.code).toBe(404);
  });

  test("StatefulSet controller: ordinal pods, scale, rolling update, cascading delete", async () => {
    await apps.createNamespacedStatefulSet({ namespace: ns, body: sts("roll", 3) });
    const ready = () => kube.list("pods", ns).filter((p) => p.metadata.name.startsWith("roll-") && p.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True"));
    await waitFor(() => ready().length === 3, { what: "3 ready pods" });
    expect(ready().map((p) => p.metadata.name).sort()).toEqual(["roll-0", "roll-1", "roll-2"]);
    await apps.patchNamespacedStatefulSet({ name: "roll", namespace: ns, body: { spec: { replicas: 1 } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
    await waitFor(() => kube.list("pods", ns).filter((p) => p.metadata.name.startsWith("roll-")).length === 1, { what: "scale down" });
    const before = kube.get("pods", ns, "roll-0")!.metadata.uid;
    await apps.patchNamespacedStatefulSet(
      { name: "roll", namespace: ns, body: { spec: { template: { spec: { containers: [{ name: "app", image: "busybox:2" }] } } } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch),
    );
    await waitFor(() => kube.get("pods", ns, "roll-0")?.spec.containers[0].image === "busybox:2" && kube.get("pods", ns, "roll-0")!.metadata.uid !== before, { what: "rolled pod" });
    const s = await waitFor(async () => {
      const x = await apps.readNamespacedStatefulSet({ name: "roll", namespace: ns });
      return x.status?.readyReplicas === 1 && x.status.updatedReplicas === 1 ? x : null;
    });
    expect(s.status!.updateRevision).toBe(s.status!.currentRevision!);
    await apps.deleteNamespacedStatefulSet({ name: "roll", namespace: ns, propagationPolicy: "Background" });
    await waitFor(() => kube.list("pods", ns).every((p) => !p.metadata.name.startsWith("roll-")), { what: "cascade" });
  });

  test("label selectors: =, !=, in, notin, exists, !exists", async () => {
    for (const [name, tier] of [["s-a", "web"], ["s-b", "worker"], ["s-c", ""]] as const) {
      const labels: Record<string, string> = { group: "sel" };
      if (tier) labels.tier = tier;
      await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name, labels }, stringData: { k: "v" } } });
    }
    const names = async (labelSelector: string) => (await core.listNamespacedSecret({ namespace: ns, labelSelector })).items.map((s) => s.metadata!.name).sort();
    expect(await names("group=sel,tier=web")).toEqual(["s-a"]);
    expect(await names("group=sel,tier!=web")).toEqual(["s-b", "s-c"]);
    expect(await names("tier in (web, worker)")).toEqual(["s-a", "s-b"]);
    expect(await names("group=sel,tier notin (web)")).toEqual(["s-b", "s-c"]);
    expect(await names("group=sel,tier")).toEqual(["s-a", "s-b"]);
    expect(await names("group=sel,!tier")).toEqual(["s-c"]);
    const page = await core.listNamespacedSecret({ namespace: ns, labelSelector: "group=sel", limit: 2 });
    expect(page.items.length).toBe(2);
    const rest = await core.listNamespacedSecret({ namespace: ns, labelSelector: "group=sel", limit: 2, _continue: page.metadata!._continue! });
    expect(rest.items.map((s) => s.metadata!.name)).toEqual(["s-c"]);
  });

  test("watch: events after the list version, 410 for compacted versions, expiry mid-stream", async () => {
    const list = await core.listNamespacedSecret({ namespace: ns });
    const rv = list.metadata!.resourceVersion!;
    const seen: string[] = [];
    let ended: unknown = "open";
    const w = new k8s.Watch(kc);
    await w.watch(`/api/v1/namespaces/${ns}/secrets`, { resourceVersion: rv }, (type, obj) => seen.push(`${type} ${obj.metadata?.name ?? obj.reason}`), (err) => (ended = err));
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "w1" } } });
    await core.deleteNamespacedSecret({ name: "w1", namespace: ns });
    await waitFor(() => seen.includes("DELETED w1"), { what: "watch events" });
    expect(seen).toEqual(["ADDED w1", "DELETED w1"]);
    kube.expireWatches({ compact: true });
    await waitFor(() => ended !== "open", { what: "watch end" });
    expect(seen.at(-1)).toBe("ERROR Expired");
    const again: any[] = [];
    let done2: unknown = "open";
    await w.watch(`/api/v1/namespaces/${ns}/secrets`, { resourceVersion: rv }, (type, obj) => again.push({ type, obj }), (err) => (done2 = err));
    await waitFor(() => done2 !== "open", { what: "410 watch end" });
    expect(again[0].type).toBe("ERROR");
    expect(again[0].obj.code).toBe(410);
  });

  test("status subresource and merge patch with a resourceVersion precondition", async () => {
    await batch.createNamespacedJob({ namespace: ns, body: { metadata: { name: "held" }, spec: { suspend: true, template: { spec: { restartPolicy: "Never", containers: [{ name: "t", image: "busybox:1" }] } } } } });
    const job = await batch.readNamespacedJob({ name: "held", namespace: ns });
    const withStatus = await batch.replaceNamespacedJobStatus({ name: "held", namespace: ns, body: { ...job, spec: { ...job.spec!, parallelism: 5 }, status: { active: 7 } } });
    expect(withStatus.status!.active).toBe(7);
    expect(withStatus.spec!.parallelism).toBe(1);
    const main = await batch.replaceNamespacedJob({ name: "held", namespace: ns, body: { ...withStatus, status: { active: 0 } } });
    expect(main.status!.active).toBe(7);
    const conflict = await apiError(
      batch.patchNamespacedJob({ name: "held", namespace: ns, body: { metadata: { resourceVersion: "1", labels: { a: "b" } } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch)),
    );
    expect(conflict.code).toBe(409);
  });

  test("jobs run to completion or fail past backoffLimit; crashes, image pulls, scheduling failures", async () => {
    await batch.createNamespacedJob({ namespace: ns, body: { metadata: { name: "ok" }, spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "t", image: "busybox:1" }] } } } } });
    await waitFor(async () => (await batch.readNamespacedJob({ name: "ok", namespace: ns })).status?.conditions?.some((c) => c.type === "Complete"), { what: "job complete" });
    kube.sim.behavior = () => ({ kind: "exit", exitCode: 3 });
    await batch.createNamespacedJob({ namespace: ns, body: { metadata: { name: "bad" }, spec: { backoffLimit: 0, template: { spec: { restartPolicy: "Never", containers: [{ name: "t", image: "busybox:1" }] } } } } });
    const failed = await waitFor(async () => (await batch.readNamespacedJob({ name: "bad", namespace: ns })).status?.conditions?.find((c) => c.type === "Failed"), { what: "job failed" });
    expect(failed.reason).toBe("BackoffLimitExceeded");
    kube.sim.behavior = (p) => (p.metadata.name.startsWith("cl-") ? { kind: "crash", exitCode: 42 } : p.metadata.name.startsWith("ip-") ? { kind: "image-pull-error" } : { kind: "unschedulable", message: "0/3 nodes are available: 3 Insufficient memory." });
    await apps.createNamespacedStatefulSet({ namespace: ns, body: sts("cl", 1) });
    await apps.createNamespacedStatefulSet({ namespace: ns, body: sts("ip", 1) });
    await apps.createNamespacedStatefulSet({ namespace: ns, body: sts("us", 1) });
    const cl = await waitFor(() => kube.get("pods", ns, "cl-0")?.status?.containerStatuses?.[0]);
    expect(cl.state.waiting.reason).toBe("CrashLoopBackOff");
    expect(cl.lastState.terminated.exitCode).toBe(42);
    expect(cl.restartCount).toBe(1);
    const ip = await waitFor(() => kube.get("pods", ns, "ip-0")?.status?.containerStatuses?.[0]);
    expect(ip.state.waiting.reason).toBe("ErrImagePull");
    const ev = await waitFor(async () => (await core.listNamespacedEvent({ namespace: ns, fieldSelector: "reason=FailedScheduling,involvedObject.name=us-0" })).items[0]);
    expect(ev.message).toBe("0/3 nodes are available: 3 Insufficient memory.");
    kube.sim.behavior = () => ({ kind: "ready" });
  });

  test("faults: 500s, 403 naming verb and resource, hung requests, SelfSubjectAccessReview", async () => {
    kube.faults.fail({ verb: "list", resource: "pods", times: 2 });
    expect((await apiError(core.listNamespacedPod({ namespace: ns }))).code).toBe(500);
    expect((await apiError(core.listNamespacedPod({ namespace: ns }))).code).toBe(500);
    await core.listNamespacedPod({ namespace: ns });
    kube.faults.forbid("create", "statefulsets");
    const f = await apiError(apps.createNamespacedStatefulSet({ namespace: ns, body: sts("forbidden") }));
    expect(f.code).toBe(403);
    expect(f.body.message).toContain('cannot create resource "statefulsets" in API group "apps" in the namespace "apps"');
    const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
    const review = await authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { verb: "create", resource: "statefulsets", group: "apps", namespace: ns } } } });
    expect(review.status!.allowed).toBe(false);
    kube.faults.clear();
    kube.faults.hang({ verb: "get", resource: "secrets" });
    const aborted = core.readNamespacedSecret({ name: "s-a", namespace: ns }, { middleware: [{ pre: (c) => (c.setSignal(AbortSignal.timeout(100)), new k8s.Observable(Promise.resolve(c))), post: (r) => new k8s.Observable(Promise.resolve(r)) }] });
    await expect(aborted).rejects.toThrow(/abort|timed? ?out/i);
    kube.faults.clear();
    expect(kube.counter.get("list", "pods")).toBeGreaterThanOrEqual(3);
  });
});
