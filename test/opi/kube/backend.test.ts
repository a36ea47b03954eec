import { afterAll, afterEach, describe, expect, test } from "bun:test";
import type { LRP, LRPInput, OpiEvent } from "../../../src/model/index.ts";
import { LRP as LRPSchema } from "../../../src/model/index.ts";
import { OpiInvalidError } from "../../../src/opi/index.ts";
import { ANNOTATION, INSTANCES_ANNOTATION, SCHEDULING_KEYS } from "../../../src/opi/kube/index.ts";
import { waitFor } from "../../support/poll.ts";
import { cleanupTempDirs } from "../../support/tmp.ts";
import { IMAGES, kubeSetup, NS, type KubeSetup } from "./harness.ts";

afterAll(cleanupTempDirs);

let s: KubeSetup | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

let n = 0;
function lrp(over: Partial<LRPInput> = {}): LRP {
  const guid = `g${++n}-${crypto.randomUUID().slice(0, 8)}`;
  return LRPSchema.parse({
    guid,
    version: "v1",
    process_guid: `${guid}-v1`,
    app_guid: `app-${guid}`,
    app_name: "myapp",
    space_name: "dev",
    instances: 2,
    memory_mb: 1024,
    routes: { "cf-router": [{ hostname: `${guid}.apps.example.com`, port: 8080 }] },
    last_updated: "100.0",
    lifecycle: { buildpack_lifecycle: { droplet_guid: "droplet-1", droplet_hash: "a".repeat(64), start_command: "bundle exec rackup" } },
    ...over,
  });
}

const stsOf = (k: KubeSetup, pg: string) => k.kube.list("statefulsets", NS).find((o) => o.metadata.annotations?.[ANNOTATION.processGuid] === pg);
const readyPods = (k: KubeSetup, name: string) => k.kube.list("pods", NS).filter((p) => p.metadata.name.startsWith(`${name}-`) && p.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True"));
const running = (k: KubeSetup, pg: string, count: number) =>
  waitFor(async () => {
    const xs = await k.backend.getInstances(pg);
    return xs.length === count && xs.every((i) => i.state === "RUNNING") ? xs : null;
  }, { what: `${count} running instances` });

describe("kube backend", () => {
  test("the StatefulSet: Parallel, ordinal pods, resources, security, probes, anti-affinity, pull secret, env, PDB, route Service", async () => {
    s = await kubeSetup();
    const l = lrp({ environment: { GREETING: "hi" }, health_check_type: "http", health_check_http_endpoint: "/health" });
    await s.backend.desireLRP(l);
    const sts = stsOf(s, l.process_guid)!;
    expect(sts.metadata.name.length).toBeLessThanOrEqual(52);
    expect(sts.spec.podManagementPolicy).toBe("Parallel");
    expect(sts.metadata.labels["cloudfoundry.org/source_type"]).toBe("APP");
    const pod = sts.spec.template.spec;
    const c = pod.containers[0];
    expect(c.image).toBe(`registry.eirini.test:5000/cloudfoundry/droplet-1:${"a".repeat(64)}`);
    expect(c.resources.limits.memory).toBe("1Gi");
    expect(c.resources.requests.memory).toBe("1Gi");
    expect(c.resources.limits["ephemeral-storage"]).toBe("1Gi");
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, runAsNonRoot: true, runAsUser: 2000 });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(c.livenessProbe.httpGet).toMatchObject({ path: "/health", port: 8080 });
    expect(c.livenessProbe.initialDelaySeconds).toBe(60);
    expect(c.readinessProbe.failureThreshold).toBe(1);
    expect(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey).toBe("kubernetes.io/hostname");
    expect(pod.imagePullSecrets).toEqual([{ name: "eirini-registry" }]);
    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom.fieldRef.fieldPath]));
    expect(env).toMatchObject({ GREETING: "hi", PORT: "8080", MEMORY_LIMIT: "1024m", CF_INSTANCE_IP: "status.podIP", POD_NAME: "metadata.name", HOME: "/home/vcap/app" });
    expect(JSON.parse(env.VCAP_APPLICATION).application_uris).toEqual([`${l.guid}.apps.example.com`]);
    expect(c.command.slice(0, 2)).toEqual(["/bin/sh", "-c"]);
    expect(c.command[2]).toContain('CF_INSTANCE_INDEX="${POD_NAME##*-}"');
    expect(c.command.at(-1)).toBe("bundle exec rackup");
    expect(s.kube.get("poddisruptionbudgets", NS, sts.metadata.name)?.spec.minAvailable).toBe("50%");
    const svc = s.kube.list("services", NS).find((x) => x.metadata.annotations?.[ANNOTATION.routeHost] === `${l.guid}.apps.example.com`)!;
    expect(svc.spec.selector).toEqual(sts.spec.selector.matchLabels);
    expect(svc.metadata.ownerReferences[0].uid).toBe(sts.metadata.uid);
    const xs = await running(s, l.process_guid, 2);
    expect(xs.map((i) => i.instance_guid)).toEqual([0, 1].map((i) => s!.kube.get("pods", NS, `${sts.metadata.name}-${i}`)!.metadata.uid));
  });

  test("names stay valid DNS-1123 labels for unicode, long and digit-led app names", async () => {
    s = await kubeSetup();
    for (const app_name of ["Ünïcödé Äpp", "日本語のアプリ", "9lives", "x".repeat(200), "--.."]) {
      const l = lrp({ app_name, space_name: "Späce ".repeat(20), instances: 1 });
      await s.backend.desireLRP(l);
      const name = stsOf(s, l.process_guid)!.metadata.name as string;
      expect(name).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
      expect(name.length).toBeLessThanOrEqual(52);
    }
    expect(stsOf(s, `${"g"}`)).toBeUndefined();
  });

  test("a new droplet rolls the pods; scaling changes replicas only; a route change touches annotations only", async () => {
    s = await kubeSetup();
    const l = lrp();
    await s.backend.desireLRP(l);
    await running(s, l.process_guid, 2);
    const name = stsOf(s, l.process_guid)!.metadata.name;
    const uids = readyPods(s, name).map((p) => p.metadata.uid);
    const gen = stsOf(s, l.process_guid)!.metadata.generation;

    s.kube.counter.reset();
    await s.backend.updateLRP({ guid: l.guid, version: l.version, update: { instances: 3 } });
    expect(s.kube.counter.snapshot()).toEqual({ "patch statefulsets": 1 });
    await running(s, l.process_guid, 3);
    expect(readyPods(s, name).filter((p) => uids.includes(p.metadata.uid)).length).toBe(2);
    expect(stsOf(s, l.process_guid)!.metadata.generation).toBe(gen + 1);

    s.kube.counter.reset();
    const host = `new-${l.guid}.apps.example.com`;
    await s.backend.updateLRP({ guid: l.guid, version: l.version, update: { routes: { "cf-router": [{ hostname: host, port: 8080 }] }, annotation: "200.0" } });
    expect(s.kube.counter.get("update", "statefulsets")).toBe(0);
    expect(s.kube.counter.get("patch", "statefulsets")).toBe(1);
    expect(stsOf(s, l.process_guid)!.metadata.generation).toBe(gen + 1);
    expect(JSON.parse(stsOf(s, l.process_guid)!.metadata.annotations[ANNOTATION.routes])["cf-router"][0].hostname).toBe(host);
    await waitFor(() => s!.backend.routeTargets(host).length === 3, { what: "targets on the new route" });

    const before = readyPods(s, name).map((p) => p.metadata.uid);
    await s.backend.updateLRP({ guid: l.guid, version: l.version, update: { lifecycle: { buildpack_lifecycle: { droplet_guid: "droplet-2", droplet_hash: "b".repeat(64), start_command: "bundle exec rackup" } } } });
    await waitFor(
      () => {
        const pods = readyPods(s!, name);
        return pods.length === 3 && pods.every((p) => p.spec.containers[0].image.endsWith(`:${"b".repeat(64)}`) && !before.includes(p.metadata.uid));
      },
      { what: "all pods rolled to the new droplet" },
    );
    expect((await s.backend.getLRP(l.process_guid))!.lifecycle).toEqual({ buildpack_lifecycle: { droplet_guid: "droplet-2", droplet_hash: "b".repeat(64), start_command: "bundle exec rackup" } });
    expect(s.backend.routeTargets(host).length).toBe(3);
  });

  test("converging what is already there writes nothing (desire again, restart, relist)", async () => {
    s = await kubeSetup();
    const ls = [lrp(), lrp({ instances: 1 }), lrp({ instances: 3 })];
    for (const l of ls) await s.backend.desireLRP(l);
    s.kube.counter.reset();
    for (const l of ls) await s.backend.desireLRP(l);
    const second = await s.make();
    await second.start();
    expect((await second.listLRPs()).map((x) => x.desired_lrp_key.process_guid).sort()).toEqual(ls.map((l) => l.process_guid).sort());
    for (const l of ls) await second.desireLRP(l);
    expect(await second.getLRP(ls[2]!.process_guid)).toMatchObject({ instances: 3, last_updated: "100.0" });
    const before = second.sts.relists;
    await waitFor(() => s!.kube.store.watchers.size === 12, { what: "both backends watching" });
    s.kube.expireWatches({ compact: true });
    await waitFor(() => second.sts.relists > before, { what: "relist after 410", timeoutMs: 3000 });
    const writes = Object.entries(s.kube.counter.snapshot()).filter(([k]) => /^(create|update|patch|delete)/.test(k));
    expect(writes).toEqual([]);
  });

  test("objects deleted or changed by hand are put back", async () => {
    s = await kubeSetup();
    const l = lrp();
    await s.backend.desireLRP(l);
    const sts = stsOf(s, l.process_guid)!;
    const name = sts.metadata.name;

    // kubectl scale / kubectl edit of the image
    s.kube.replace("statefulsets", NS, name, { ...sts, spec: { ...sts.spec, replicas: 7 } });
    await waitFor(() => stsOf(s!, l.process_guid)!.spec.replicas === 2, { what: "replicas put back" });
    const cur = stsOf(s, l.process_guid)!;
    const edited = structuredClone(cur);
    edited.spec.template.spec.containers[0].image = "evil/image:1";
    s.kube.replace("statefulsets", NS, name, edited);
    await waitFor(() => stsOf(s!, l.process_guid)!.spec.template.spec.containers[0].image.startsWith("registry.eirini.test:5000/"), { what: "image put back" });

    // deleted PDB, deleted Service, deleted StatefulSet
    s.kube.delete("poddisruptionbudgets", NS, name);
    await waitFor(() => s!.kube.get("poddisruptionbudgets", NS, name), { what: "PDB recreated" });
    const svc = s.kube.list("services", NS).find((x) => x.metadata.annotations?.[ANNOTATION.processGuid] === l.process_guid)!;
    s.kube.delete("services", NS, svc.metadata.name);
    await waitFor(() => s!.kube.get("services", NS, svc.metadata.name), { what: "Service recreated" });
    s.kube.delete("statefulsets", NS, name);
    await waitFor(() => stsOf(s!, l.process_guid) && s!.kube.get("services", NS, svc.metadata.name), { what: "StatefulSet and its Service recreated" });
    await running(s, l.process_guid, 2);
    expect(s.kube.list("statefulsets", NS).filter((o) => o.metadata.annotations?.[ANNOTATION.processGuid] === l.process_guid).length).toBe(1);
  });

  test("scheduling annotations and placement tags reach the pod spec; bad values are rejected clearly", async () => {
    s = await kubeSetup();
    const l = lrp({
      placement_tags: ["gpu-segment"],
      user_defined_annotations: {
        [SCHEDULING_KEYS.nodeSelector]: "disktype=ssd",
        [SCHEDULING_KEYS.nodeAffinity]: "zone in (eu-1a,eu-1b),!spot",
        [SCHEDULING_KEYS.tolerations]: "dedicated=cf:NoSchedule,preemptible:NoExecute",
        [SCHEDULING_KEYS.affinity]: "co-locate:cache-app",
        [SCHEDULING_KEYS.schedulerName]: "bin-packer",
      },
    });
    await s.backend.desireLRP(l);
    const spec = stsOf(s, l.process_guid)!.spec.template.spec;
    expect(spec.nodeSelector).toEqual({ disktype: "ssd", "placement.cloudfoundry.org/gpu-segment": "true" });
    expect(spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions).toEqual([
      { key: "zone", operator: "In", values: ["eu-1a", "eu-1b"] },
      { key: "spot", operator: "DoesNotExist" },
    ]);
    expect(spec.tolerations).toEqual([
      { key: "placement.cloudfoundry.org/gpu-segment", operator: "Exists", effect: "NoSchedule" },
      { key: "dedicated", operator: "Equal", value: "cf", effect: "NoSchedule" },
      { key: "preemptible", operator: "Exists", effect: "NoExecute" },
    ]);
    expect(spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector.matchLabels).toEqual({ "cloudfoundry.org/app_guid": "cache-app" });
    expect(spec.schedulerName).toBe("bin-packer");
    const bad = lrp({ user_defined_annotations: { [SCHEDULING_KEYS.tolerations]: "a=b:Sometimes" } });
    const err = await s.backend.desireLRP(bad).catch((e) => e);
    expect(err).toBeInstanceOf(OpiInvalidError);
    expect(err.message).toContain(SCHEDULING_KEYS.tolerations);
    expect(stsOf(s, bad.process_guid)).toBeUndefined();
    const badEnv = await s.backend.desireLRP(lrp({ environment: { "1BAD NAME": "x" } })).catch((e) => e);
    expect(badEnv).toBeInstanceOf(OpiInvalidError);
  });

  test("instance states: UNCLAIMED with the scheduler's message, pull failures as what they are (not crashes), one crash event per crash", async () => {
    s = await kubeSetup();
    const events: OpiEvent[] = [];
    s.backend.subscribe((e) => events.push(e));
    s.kube.sim.behavior = (pod) =>
      pod.spec.containers[0].image === "nowhere/missing:1" ? { kind: "image-pull-error" } : pod.metadata.name.includes("-0") ? { kind: "unschedulable", message: "0/3 nodes are available: 3 Insufficient memory." } : { kind: "ready" };
    const big = lrp({ instances: 1, memory_mb: 64_000 });
    await s.backend.desireLRP(big);
    const un = await waitFor(async () => (await s!.backend.getInstances(big.process_guid)).find((i) => i.state === "UNCLAIMED" && i.placement_error), { what: "UNCLAIMED" });
    expect(un.placement_error).toBe("0/3 nodes are available: 3 Insufficient memory.");
    expect(events.some((e) => e.type === "instance_state" && e.state === "UNCLAIMED" && e.reason.includes("Insufficient memory"))).toBe(true);
    const missing = lrp({ instances: 1, lifecycle: { docker_lifecycle: { image: "nowhere/missing:1", command: [] } } });
    await s.backend.desireLRP(missing);
    // ErrImagePull, then the kubelet's back-off: the instance is STARTING with the kubelet's message throughout.
    const pulling = await waitFor(async () => (await s!.backend.getInstances(missing.process_guid)).find((i) => i.details?.startsWith("ImagePullBackOff")), { what: "ImagePullBackOff" });
    expect(pulling.state).toBe("CLAIMED");
    expect(pulling.details).toBe('ImagePullBackOff: rpc error: code = Unknown desc = failed to pull and unpack image "nowhere/missing:1": not found');
    const states = events.filter((e) => e.type === "instance_state" && e.process_guid === missing.process_guid);
    expect(states.map((e) => (e as { reason: string }).reason)).toContain('ErrImagePull: rpc error: code = Unknown desc = failed to pull and unpack image "nowhere/missing:1": not found');
    expect(events.filter((e) => e.type === "crash" && e.process_guid === missing.process_guid)).toEqual([]);
    const invalid = lrp({ instances: 1, lifecycle: { docker_lifecycle: { image: "nowhere/Missing:1", command: [] } } });
    s.kube.sim.behavior = () => ({ kind: "image-pull-error" });
    await s.backend.desireLRP(invalid);
    const bad = await waitFor(async () => (await s!.backend.getInstances(invalid.process_guid)).find((i) => i.details), { what: "InvalidImageName" });
    expect(bad).toMatchObject({ state: "CLAIMED", details: expect.stringMatching(/^InvalidImageName: Failed to apply default image tag "nowhere\/Missing:1"/) });

    s.kube.sim.behavior = () => ({ kind: "ready" });
    const ok = lrp({ instances: 2 });
    await s.backend.desireLRP(ok);
    await running(s, ok.process_guid, 2);
    const pod = `${stsOf(s, ok.process_guid)!.metadata.name}-1`;
    s.kube.sim.crash(NS, pod, { exitCode: 137, reason: "OOMKilled" });
    const crash = await waitFor(() => events.find((e): e is Extract<OpiEvent, { type: "crash" }> => e.type === "crash" && e.process_guid === ok.process_guid));
    expect(crash).toMatchObject({ index: 1, exit_status: 137, reason: "OOMKilled", crash_count: 1 });
    expect(crash.exit_description).toContain("out of memory");
    // The kubelet restarts it (restartCount 1, lastState terminated): still the same one crash.
    s.kube.sim.run(NS, pod, true);
    await running(s, ok.process_guid, 2);
    expect(events.filter((e) => e.type === "crash" && e.process_guid === ok.process_guid)).toHaveLength(1);
  });

  test("a watch expiring mid-stream: the informer relists and keeps up", async () => {
    s = await kubeSetup();
    const l = lrp({ instances: 1 });
    await s.backend.desireLRP(l);
    await running(s, l.process_guid, 1);
    const relists = s.backend.pods.relists;
    s.kube.expireWatches({ compact: true });
    const pod = `${stsOf(s, l.process_guid)!.metadata.name}-0`;
    s.kube.sim.crash(NS, pod, { exitCode: 2 });
    await waitFor(async () => (await s!.backend.getInstances(l.process_guid))[0]?.state === "CRASHED", { what: "crash seen after relist" });
    expect(s.backend.pods.relists).toBeGreaterThan(relists);
    s.kube.closeWatches();
    s.kube.sim.run(NS, pod, true);
    await running(s, l.process_guid, 1);
  });

  test("500s and timeouts for a while: calls fail clearly, convergence resumes, no duplicates", async () => {
    s = await kubeSetup({ timeoutMs: 300 });
    const a = lrp();
    s.kube.faults.fail({ verb: "create", resource: "statefulsets", times: 3 });
    await expect(s.backend.desireLRP(a)).rejects.toThrow(/create statefulsets/);
    await waitFor(() => stsOf(s!, a.process_guid), { what: "created after the 500s" });
    const b = lrp();
    s.kube.faults.hang({ verb: "create" });
    await expect(s.backend.desireLRP(b)).rejects.toThrow(/unreachable/);
    expect(s.backend.retrying).toBeGreaterThan(0);
    s.kube.faults.clear();
    await running(s, b.process_guid, 2);
    await running(s, a.process_guid, 2);
    for (const l of [a, b]) expect(s.kube.list("statefulsets", NS).filter((o) => o.metadata.annotations?.[ANNOTATION.processGuid] === l.process_guid).length).toBe(1);
    expect(s.kube.list("services", NS).length).toBe(2);
  });

  test("the API server unreachable at start: start returns, the backend retries and converges when it answers", async () => {
    s = await kubeSetup({ start: false });
    s.kube.faults.fail({ code: 503 });
    const b = await s.make({ syncTimeoutMs: 100 });
    await b.start();
    await expect(b.listLRPs()).rejects.toThrow(/not been reachable/);
    s.kube.faults.clear();
    await waitFor(async () => Array.isArray(await b.listLRPs().catch(() => null)), { what: "synced later" });
    const l = lrp({ instances: 1 });
    await b.desireLRP(l);
    await running({ ...s, backend: b }, l.process_guid, 1);
  });

  test("RBAC: a forbidden verb gives an error naming the verb, resource and namespace", async () => {
    s = await kubeSetup();
    s.kube.faults.forbid("create", "statefulsets");
    const err = await s.backend.desireLRP(lrp()).catch((e) => e);
    expect(err.message).toContain("may not create statefulsets");
    expect(err.message).toContain(`namespace "${NS}"`);
    s.kube.faults.clear();
    s.kube.faults.forbid("delete", "jobs");
    const task = { guid: "t-forbidden", name: "migrate", app_guid: "a", command: "sleep 3600", lifecycle: { docker_lifecycle: { image: IMAGES.task } } };
    await s.backend.desireTask(task as never);
    await waitFor(async () => (await s!.backend.getTask("t-forbidden"))?.state === "RUNNING");
    const cancel = await s.backend.cancelTask("t-forbidden").catch((e) => e);
    expect(cancel.message).toContain("may not delete jobs");
  });

  test("finished task Jobs are cleaned up; their status stays answerable", async () => {
    s = await kubeSetup();
    await s.backend.desireTask({ guid: "t-clean", name: "once", app_guid: "a", command: "exit 0", lifecycle: { docker_lifecycle: { image: IMAGES.task } } } as never);
    await waitFor(async () => (await s!.backend.getTask("t-clean"))?.state === "SUCCEEDED");
    await waitFor(() => s!.kube.list("jobs", NS).length === 0, { what: "job deleted" });
    await waitFor(() => s!.kube.list("pods", NS).length === 0, { what: "job pod deleted" });
    expect((await s.backend.getTask("t-clean"))?.state).toBe("SUCCEEDED");
    const job = s.kube.counter.get("create", "jobs");
    await s.backend.desireTask({ guid: "t-clean", name: "once", app_guid: "a", command: "exit 0", lifecycle: { docker_lifecycle: { image: IMAGES.task } } } as never);
    expect(s.kube.counter.get("create", "jobs")).toBe(job);
  });

  test("stopping an LRP deletes its StatefulSet and, through owner references, its pods, PDB and Services", async () => {
    s = await kubeSetup();
    const l = lrp();
    await s.backend.desireLRP(l);
    await running(s, l.process_guid, 2);
    await s.backend.stopLRP(l.process_guid);
    await waitFor(() => s!.kube.list("pods", NS).length === 0 && s!.kube.list("services", NS).length === 0 && s!.kube.list("poddisruptionbudgets", NS).length === 0, { what: "cascade" });
    expect(await s.backend.getLRP(l.process_guid)).toBeNull();
    await new Promise((r) => setTimeout(r, 50));
    expect(s.kube.list("statefulsets", NS).length).toBe(0);
  });
});

test("with an ingress class, every route also gets an Ingress to its Service", async () => {
  s = await kubeSetup({ start: false });
  const b = await s.make({ build: { namespace: NS, cfApi: "", registryAddress: "r:5000", ingressClass: "nginx" } });
  await b.start();
  const l = lrp({ instances: 1 });
  await b.desireLRP(l);
  const ing = await waitFor(() => s!.kube.list("ingresses", NS)[0], { what: "ingress" });
  const svc = s.kube.list("services", NS)[0]!;
  expect(ing.spec.ingressClassName).toBe("nginx");
  expect(ing.spec.rules[0].host).toBe(`${l.guid}.apps.example.com`);
  expect(ing.spec.rules[0].http.paths[0].backend.service).toEqual({ name: svc.metadata.name, port: { number: 8080 } });
  s.kube.counter.reset();
  await b.updateLRP({ guid: l.guid, version: l.version, update: { routes: {} } });
  await waitFor(() => s!.kube.list("ingresses", NS).length === 0 && s!.kube.list("services", NS).length === 0, { what: "route objects removed" });
  expect(s.kube.counter.get("delete")).toBe(2);
});

void INSTANCES_ANNOTATION;
