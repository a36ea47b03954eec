import { afterAll, afterEach, expect, test } from "bun:test";
import { silentLogger } from "../../../src/log/index.ts";
import { LRP as LRPSchema, Task as TaskSchema, type LogLineInput } from "../../../src/model/index.ts";
import { AppLogFollower } from "../../../src/opi/kube/app-logs.ts";
import { waitFor } from "../../support/poll.ts";
import { cleanupTempDirs } from "../../support/tmp.ts";
import { kubeSetup, NS, type KubeSetup } from "./harness.ts";

/**
 * App and task output reaches the log store by following the pods' log
 * API: sources APP/PROC/WEB/<ordinal> and APP/TASK/<name>/0, every line
 * once across container restarts and broken streams.
 */
afterAll(cleanupTempDirs);

let s: KubeSetup | undefined;
let follower: AppLogFollower | undefined;
afterEach(async () => {
  follower?.stop();
  await s?.close();
  s = undefined;
});

function setup(k: KubeSetup, lines: LogLineInput[], backend = k.backend) {
  follower = new AppLogFollower({ client: (backend as unknown as { client: never }).client, pods: backend.pods, sink: { append: (l) => void lines.push(l) }, logger: silentLogger, retryMs: () => 20 });
  return follower;
}

const guid = () => crypto.randomUUID();
const msgs = (lines: LogLineInput[], source: string) => lines.filter((l) => `${l.source_type}/${l.instance_id}` === source).map((l) => l.message);

test("app instances: lines per ordinal, once each, across a crash and restart and broken watches", async () => {
  s = await kubeSetup();
  const lines: LogLineInput[] = [];
  setup(s, lines);
  const g = guid();
  const lrp = LRPSchema.parse({
    guid: g, version: "v1", process_guid: `${g}-v1`, app_guid: g, app_name: "logs", space_name: "dev", instances: 2, process_type: "web",
    lifecycle: { docker_lifecycle: { image: "eirini-test/http:1", command: ["/server"] } },
  });
  await s.backend.desireLRP(lrp);
  await waitFor(async () => (await s!.backend.getInstances(lrp.process_guid)).every((i) => i.state === "RUNNING"), { what: "running" });
  const sts = s.kube.list("statefulsets", NS).find((o) => o.metadata.annotations?.["cloudfoundry.org/process_guid"] === lrp.process_guid)!;
  const pod = (i: number) => `${sts.metadata.name}-${i}`;
  s.kube.sim.appendLog(NS, pod(0), "zero says hi\n");
  s.kube.sim.appendLog(NS, pod(1), "one says hi\nand more\n");
  await waitFor(() => msgs(lines, "APP/PROC/WEB/1").length === 2, { what: "instance 1's lines" });
  expect(msgs(lines, "APP/PROC/WEB/0")).toEqual(["zero says hi"]);
  expect(lines.every((l) => l.source_id === g && l.stream === "OUT")).toBe(true);

  // The container crashes and the kubelet restarts it: the new container's log is followed too.
  s.kube.sim.appendLog(NS, pod(1), "about to crash\n");
  await waitFor(() => msgs(lines, "APP/PROC/WEB/1").length === 3, { what: "last words" });
  s.kube.sim.crash(NS, pod(1), { exitCode: 1, backoff: false });
  s.kube.sim.appendLog(NS, pod(1), "back again\n");
  await waitFor(() => msgs(lines, "APP/PROC/WEB/1").includes("back again"), { what: "restarted container's line" });

  // Watches break and relist: nothing is lost or repeated.
  s.kube.closeWatches();
  s.kube.sim.appendLog(NS, pod(0), "after the break\n");
  await waitFor(() => msgs(lines, "APP/PROC/WEB/0").includes("after the break"), { what: "line after the break" });
  expect(msgs(lines, "APP/PROC/WEB/1")).toEqual(["one says hi", "and more", "about to crash", "back again"]);
  expect(msgs(lines, "APP/PROC/WEB/0")).toEqual(["zero says hi", "after the break"]);
  const ts = lines.map((l) => BigInt(l.timestamp));
  expect(new Set(ts).size).toBe(ts.length);
});

test("task output: APP/TASK/<name>/0, read to the end when the task finishes", async () => {
  s = await kubeSetup();
  const lines: LogLineInput[] = [];
  setup(s, lines);
  const task = TaskSchema.parse({ guid: guid(), name: "migrate", app_guid: guid(), app_name: "logs", command: "sleep 100", lifecycle: { docker_lifecycle: { image: "eirini-test/task:1" } } });
  await s.backend.desireTask(task);
  const pod = await waitFor(() => s!.kube.list("pods", NS).find((p) => p.metadata.labels?.["cloudfoundry.org/task_guid"] === task.guid && p.status?.phase === "Running"), { what: "task pod" });
  s.kube.sim.appendLog(NS, pod.metadata.name, "migrating\n");
  s.kube.sim.appendLog(NS, pod.metadata.name, "done, no newline");
  s.kube.sim.exit(NS, pod.metadata.name, 0);
  await waitFor(() => msgs(lines, "APP/TASK/migrate/0").length === 2, { what: "task lines" });
  expect(msgs(lines, "APP/TASK/migrate/0")).toEqual(["migrating", "done, no newline"]);
  expect(lines[0]!.source_id).toBe(task.app_guid);
});

test("an image pull failure is told once, as a CELL line with the kubelet's message", async () => {
  s = await kubeSetup();
  const lines: LogLineInput[] = [];
  setup(s, lines);
  s.kube.sim.behavior = () => ({ kind: "image-pull-error", message: "manifest unknown" });
  const g = guid();
  await s.backend.desireLRP(LRPSchema.parse({ guid: g, version: "v1", process_guid: `${g}-v1`, app_guid: g, app_name: "pull", space_name: "dev", instances: 1, lifecycle: { docker_lifecycle: { image: "nowhere/missing:1", command: [] } } }));
  await waitFor(async () => (await s!.backend.getInstances(`${g}-v1`))[0]?.details?.startsWith("ImagePullBackOff"), { what: "back-off" });
  const cell = lines.filter((l) => l.source_type === "CELL");
  expect(cell).toHaveLength(1);
  expect(cell[0]).toMatchObject({ source_id: g, instance_id: "0", stream: "ERR" });
  expect(cell[0]!.message).toContain('ErrImagePull: rpc error: code = Unknown desc = failed to pull and unpack image "nowhere/missing:1": manifest unknown');
});
