import { afterAll, afterEach, expect, test } from "bun:test";
import { LRP as LRPSchema } from "../../../src/model/index.ts";
import { waitFor } from "../../support/poll.ts";
import { cleanupTempDirs } from "../../support/tmp.ts";
import { kubeSetup, type KubeSetup } from "./harness.ts";

/** A route's load-balancing option reaches the router with the kube backend's route targets, as with the local one. */
let s: KubeSetup | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});
afterAll(cleanupTempDirs);

test("route targets carry the route's loadbalancing option", async () => {
  s = await kubeSetup();
  const g = crypto.randomUUID();
  const host = `lc-${g.slice(0, 8)}.apps.example.com`;
  const lrp = LRPSchema.parse({
    guid: g, version: "v1", process_guid: `${g}-v1`, app_guid: g, app_name: "lc", instances: 1,
    routes: { "cf-router": [{ hostname: host, port: 8080, options: { loadbalancing: "least-connection" } }] },
    lifecycle: { docker_lifecycle: { image: "eirini-test/http:1", command: ["/server"] } },
  });
  await s.backend.desireLRP(lrp);
  const targets = await waitFor(() => (s!.backend.routeTargets(host).length === 1 ? s!.backend.routeTargets(host) : null), { what: "a route target" });
  expect(targets[0]!.loadbalancing).toBe("least-connection");
});
