import { afterAll, afterEach, expect, test } from "bun:test";
import { LRP as LRPSchema, type LRPInput } from "../../../src/model/index.ts";
import { ANNOTATION } from "../../../src/opi/kube/index.ts";
import { cleanupTempDirs } from "../../support/tmp.ts";
import { kubeSetup, NS, type KubeSetup } from "./harness.ts";

/**
 * CF's readiness check and health check interval on Kubernetes, as the API
 * server stores the StatefulSet: liveness = the health check (its interval as
 * the period), readiness = the readiness check when the process has one.
 */
let s: KubeSetup | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});
afterAll(cleanupTempDirs);

const lrp = (over: Partial<LRPInput>) =>
  LRPSchema.parse({
    guid: "probe-app", version: "v1", process_guid: "probe-app-v1", app_guid: "app-probe", app_name: "probe", instances: 1,
    lifecycle: { buildpack_lifecycle: { droplet_guid: "droplet-1", droplet_hash: "a".repeat(64), start_command: "run" } },
    ...over,
  });

test("readinessProbe from the readiness check, livenessProbe from the health check with its interval", async () => {
  s = await kubeSetup();
  const l = lrp({ health_check_type: "port", health_check_interval_ms: 7_000, readiness_health_check: { type: "http", http_endpoint: "/ready", timeout_ms: 3_000, interval_ms: 4_000 } });
  await s.backend.desireLRP(l);
  const sts = s.kube.list("statefulsets", NS).find((o) => o.metadata.annotations?.[ANNOTATION.processGuid] === l.process_guid)!;
  const c = sts.spec.template.spec.containers[0];
  expect(c.livenessProbe).toMatchObject({ tcpSocket: { port: 8080 }, periodSeconds: 7 });
  expect(c.livenessProbe.httpGet).toBeUndefined();
  expect(c.readinessProbe).toMatchObject({ httpGet: { path: "/ready", port: 8080 }, timeoutSeconds: 3, periodSeconds: 4, failureThreshold: 1 });
  expect(c.readinessProbe.tcpSocket).toBeUndefined();
});
