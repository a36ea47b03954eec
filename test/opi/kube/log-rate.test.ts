import { afterAll, afterEach, expect, test } from "bun:test";
import { silentLogger } from "../../../src/log/index.ts";
import { LRP as LRPSchema, type LogLineInput } from "../../../src/model/index.ts";
import { AppLogFollower } from "../../../src/opi/kube/app-logs.ts";
import { waitFor } from "../../support/poll.ts";
import { cleanupTempDirs } from "../../support/tmp.ts";
import { kubeSetup, NS, type KubeSetup } from "./harness.ts";

/**
 * CF's log rate limit on Kubernetes: carried on the pod (annotation) and
 * enforced where pod logs enter the log store; timed by the lines' own
 * timestamps, so a burst written at once is judged as a burst.
 */
afterAll(cleanupTempDirs);

let s: KubeSetup | undefined;
let follower: AppLogFollower | undefined;
afterEach(async () => {
  follower?.stop();
  await s?.close();
  s = undefined;
});

test("an app pod over its log rate limit: lines dropped, CF's notice in their place; an unlimited pod keeps every line", async () => {
  s = await kubeSetup();
  const lines: LogLineInput[] = [];
  follower = new AppLogFollower({ client: (s.backend as unknown as { client: never }).client, pods: s.backend.pods, sink: { append: (l) => void lines.push(l) }, logger: silentLogger, retryMs: () => 20 });
  const lrp = (limit: number | undefined) => {
    const g = crypto.randomUUID();
    return LRPSchema.parse({
      guid: g, version: "v1", process_guid: `${g}-v1`, app_guid: g, app_name: "flood", space_name: "dev", instances: 1,
      ...(limit === undefined ? {} : { log_rate_limit_bytes_per_second: limit }),
      lifecycle: { docker_lifecycle: { image: "eirini-test/http:1", command: ["/server"] } },
    });
  };
  const capped = lrp(1000);
  const free = lrp(undefined);
  const flood = Array.from({ length: 50 }, (_, i) => `${String(i).padStart(99, "0")}\n`).join("");
  for (const l of [capped, free]) {
    await s.backend.desireLRP(l);
    await waitFor(async () => (await s!.backend.getInstances(l.process_guid))[0]?.state === "RUNNING", { what: "running" });
    const sts = s.kube.list("statefulsets", NS).find((o) => o.metadata.annotations?.["cloudfoundry.org/process_guid"] === l.process_guid)!;
    s.kube.sim.appendLog(NS, `${sts.metadata.name}-0`, flood);
  }
  const of = (app: string) => lines.filter((l) => l.source_id === app).map((l) => l.message);
  await waitFor(() => of(free.app_guid).length === 50, { what: "every line of the unlimited pod" });
  await waitFor(() => of(capped.app_guid).includes("app instance exceeded log rate limit (1000 bytes/sec)"), { what: "the notice" });
  const kept = of(capped.app_guid).filter((m) => /^0{20}/.test(m)).length;
  expect(kept).toBeGreaterThan(0);
  expect(kept).toBeLessThan(50);
});
