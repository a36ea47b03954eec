import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { StagingJob } from "../../../src/st8ge/index.ts";
import { STAGING_SELECTOR } from "../../../src/opi/kube/index.ts";
import { failure, shellBuildpack, writeTree } from "../../st8ge/support.ts";
import { cleanupTempDirs, tempDir } from "../../support/tmp.ts";
import { NS } from "./harness.ts";
import { stagingSetup } from "./staging-harness.ts";

// What only the Kubernetes executor does: the Job it creates, fail-fast pod
// verdicts, cleanup of Jobs, and the transfer routes' authentication.
const s = await stagingSetup();
afterAll(async () => {
  await s.close();
  cleanupTempDirs();
});

const MB = 1024 * 1024;
let n = 0;
function job(over: Partial<StagingJob> = {}): StagingJob {
  const dir = tempDir("kube-stg-job-");
  const bp = shellBuildpack(join(dir, "bp"), { detect: "echo ok", compile: "echo compiled", release: "echo '--- {}'" });
  return {
    id: `st-${++n}-${crypto.randomUUID()}`,
    package: { dir: writeTree(join(dir, "app"), { "index.txt": "hi" }) },
    buildpacks: [{ name: "ok", source: { dir: bp } }],
    detect: true,
    env: { CF_STACK: "cflinuxfs4", VCAP_APPLICATION: JSON.stringify({ application_id: "app-guid-1", application_name: "Ünïcode App Name That Is Quite Long Indeed" }) },
    startCommand: "./run",
    limits: { timeoutMs: 30_000, memoryBytes: 256 * MB, diskBytes: 128 * MB },
    dropletPath: join(dir, "droplet.tgz"),
    ...over,
  };
}


test("the Job: DNS-1123 name, STG labels, no retries, deadline, limits, non-root; deleted once staging ends", async () => {
  const { executor } = s.make();
  const j = job();
  let seen: Record<string, any> | undefined;
  const p = executor.run(j, { onLine: () => (seen ??= s.kube.list("jobs", NS)[0]) });
  const out = await p;
  out.dispose();
  // Pod log lines arrive while the Job exists (it is deleted only after the log ends).
  const created = seen!;
  expect(created.metadata.name).toMatch(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/);
  expect(created.metadata.labels).toMatchObject({ "cloudfoundry.org/source_type": "STG", "cloudfoundry.org/app_guid": "app-guid-1", "cloudfoundry.org/staging_guid": j.id });
  expect(created.spec.backoffLimit).toBe(0);
  expect(created.spec.activeDeadlineSeconds).toBe(30);
  const pod = created.spec.template.spec;
  expect(pod.restartPolicy).toBe("Never");
  expect(pod.automountServiceAccountToken).toBe(false);
  expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 2000 });
  const c = pod.containers[0];
  expect(c.image).toBe("eirini-test/cflinuxfs4:1");
  expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, runAsNonRoot: true });
  expect(c.resources.limits).toEqual({ memory: String(256 * MB), "ephemeral-storage": String(128 * MB) });
  expect(c.env.map((e: { name: string }) => e.name)).toEqual(expect.arrayContaining(["CF_STACK", "ST8GE_URL", "ST8GE_TOKEN", "ST8GE_MODE"]));
  expect(s.kube.list("jobs", NS)).toEqual([]);
  expect(s.kube.list("pods", NS)).toEqual([]);
  expect(s.transfers.openSessions).toBe(0);
});

test("an image that cannot be pulled fails fast with the image and the reason; the Job is removed", async () => {
  const { executor } = s.make({ podLabels: {} });
  const before = s.kube.sim.behavior;
  s.kube.sim.behavior = () => ({ kind: "image-pull-error", message: "manifest unknown" });
  try {
    const err = await failure(executor.run(job(), { onLine: () => {} }));
    expect(err.code).toBe("StagerError");
    expect(err.message).toContain("eirini-test/cflinuxfs4:1");
    expect(err.message).toMatch(/ErrImagePull: .*manifest unknown/);
  } finally {
    s.kube.sim.behavior = before;
  }
  expect(s.kube.list("jobs", NS)).toEqual([]);
});

test("an unschedulable staging pod fails fast with the scheduler's message", async () => {
  const { executor } = s.make({ podLabels: {} });
  const before = s.kube.sim.behavior;
  s.kube.sim.behavior = () => ({ kind: "unschedulable", message: "0/3 nodes are available: 3 Insufficient memory." });
  try {
    const err = await failure(executor.run(job(), { onLine: () => {} }));
    expect(err.code).toBe("InsufficientResources");
    expect(err.message).toBe("no node can run the staging pod: 0/3 nodes are available: 3 Insufficient memory.");
  } finally {
    s.kube.sim.behavior = before;
  }
  expect(s.kube.list("jobs", NS)).toEqual([]);
});

test("a staging past its time limit is a timeout and its pod is gone", async () => {
  const { executor } = s.make();
  const dir = tempDir("kube-stg-deadline-");
  const slow = shellBuildpack(dir, { compile: "sleep 30", release: "echo '--- {}'" });
  // Either the Job's deadline (activeDeadlineSeconds: 1, the emulator's job controller) or the executor's own timer ends it.
  const j = job({ detect: false, buildpacks: [{ name: "slow", source: { dir: slow } }], limits: { timeoutMs: 1000, memoryBytes: 256 * MB, diskBytes: 128 * MB } });
  const err = await failure(executor.run({ ...j }, { onLine: () => {} }));
  expect(err.code).toBe("StagingTimeExpired");
  expect(s.kube.list("pods", NS)).toEqual([]);
});

test("sweep removes staging Jobs no running staging owns, and only those", async () => {
  const { executor } = s.make();
  const labels = Object.fromEntries(STAGING_SELECTOR.split(",").map((kv) => kv.split("=")));
  const spec = { backoffLimit: 0, template: { spec: { restartPolicy: "Never", containers: [{ name: "x", image: "x" }] } } };
  s.kube.sim.autoRun = false;
  try {
    s.kube.create("jobs", NS, { apiVersion: "batch/v1", metadata: { name: "left-over-stage-1", labels }, spec });
    s.kube.create("jobs", NS, { apiVersion: "batch/v1", metadata: { name: "a-task", labels: { "cloudfoundry.org/source_type": "TASK" } }, spec });
    expect(await executor.sweep()).toBe(1);
    expect(s.kube.list("jobs", NS).map((j) => j.metadata.name)).toEqual(["a-task"]);
  } finally {
    s.kube.sim.autoRun = true;
    s.kube.delete("jobs", NS, "a-task");
  }
});

test("transfer routes: a token is required, scoped to its staging, and only running stagings answer", async () => {
  const guid = "g-1";
  const input = join(tempDir("kube-stg-tr-"), "input.tgz");
  await Bun.write(input, "x");
  const close = s.transfers.open(guid, { inputPath: input, uploadDir: tempDir(), maxBytes: 1024, dropletPath: join(tempDir(), "d.tgz"), onResult: async () => "info", onDroplet: () => {}, onUploadError: () => {} });
  const get = (g: string, token?: string) => fetch(`${s.url}/kube-staging/${g}/input`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  try {
    expect((await get(guid)).status).toBe(401);
    expect((await get(guid, "not.a.jwt")).status).toBe(401);
    expect((await get(guid, s.transfers.token("g-2", 60))).status).toBe(403);
    expect((await get("g-2", s.transfers.token("g-2", 60))).status).toBe(404);
    const ok = await get(guid, s.transfers.token(guid, 60));
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("x");
    const t = s.transfers.token(guid, 60);
    const early = await fetch(`${s.url}/kube-staging/${guid}/droplet`, { method: "PUT", headers: { authorization: `Bearer ${t}`, "x-droplet-digest": `sha256:${"0".repeat(64)}` }, body: "d" });
    expect(early.status).toBe(409); // no droplet before the result
    const bad = await fetch(`${s.url}/kube-staging/${guid}/droplet`, { method: "PUT", headers: { authorization: `Bearer ${t}`, "x-droplet-digest": "md5:abc" }, body: "d" });
    expect(bad.status).toBe(400);
  } finally {
    close();
  }
});

test("a droplet whose digest does not match what the pod announced is refused and fails the staging", async () => {
  const guid = "g-digest";
  const dir = tempDir("kube-stg-dg-");
  const errors: string[] = [];
  let got: unknown;
  const dropletPath = join(dir, "d.tgz");
  const close = s.transfers.open(guid, { inputPath: join(dir, "none"), uploadDir: dir, maxBytes: 1024, dropletPath, onResult: async () => "info", onDroplet: (d) => (got = d), onUploadError: (m) => errors.push(m) });
  const t = s.transfers.token(guid, 60);
  try {
    const r = await fetch(`${s.url}/kube-staging/${guid}/result`, { method: "PUT", headers: { authorization: `Bearer ${t}` }, body: "not a tar" });
    expect(r.status).toBe(200); // onResult decides; here it accepts anything
    const d = await fetch(`${s.url}/kube-staging/${guid}/droplet`, { method: "PUT", headers: { authorization: `Bearer ${t}`, "x-droplet-digest": `sha256:${"a".repeat(64)}` }, body: "droplet bytes" });
    expect(d.status).toBe(400);
    expect(errors[0]).toContain("not the announced");
    expect(got).toBeUndefined();
    expect(await Bun.file(dropletPath).exists()).toBe(false);
  } finally {
    close();
  }
});
