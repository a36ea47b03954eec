/**
 * The API server emulator as its own process for the memory benchmark:
 * seeds `<lrps>` StatefulSets (built by the real backend's builders) with
 * `<replicas>` running pods each, writes a kubeconfig, prints it as one JSON
 * line, and serves until stdin closes.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LRP } from "../../../src/model/index.ts";
import { buildPDB, buildRouteService, buildStatefulSet, desiredFromLRP, INSTANCES_ANNOTATION } from "../../../src/opi/kube/index.ts";
import { startKubeEmulator } from "../../../test/support/kube/index.ts";

const [lrps, replicas, ns] = [Number(process.argv[2] ?? 10_000), Number(process.argv[3] ?? 3), process.argv[4] ?? "cf-apps"];
const kube = await startKubeEmulator({ namespaces: [ns], historyLimit: 1000 });
kube.sim.autoRun = false;
const build = { namespace: ns, cfApi: "http://127.0.0.1:7080", registryAddress: "registry.example:5000", pullSecret: "eirini-registry" };
for (let i = 0; i < lrps; i++) {
  const guid = `${crypto.randomUUID()}`;
  const version = crypto.randomUUID();
  const lrp = LRP.parse({
    guid,
    version,
    process_guid: `${guid}-${version}`,
    app_guid: crypto.randomUUID(),
    app_name: `app-${i}`,
    space_name: "production",
    organization_name: "org",
    instances: replicas,
    memory_mb: 256,
    environment: { RAILS_ENV: "production", DATABASE_URL: `postgres://user:pw@db.internal:5432/app_${i}` },
    routes: { "cf-router": [{ hostname: `app-${i}.apps.example.com`, port: 8080 }] },
    last_updated: "1700000000.0",
    lifecycle: { buildpack_lifecycle: { droplet_guid: crypto.randomUUID(), droplet_hash: "c".repeat(64), start_command: "bundle exec rackup -p $PORT" } },
  });
  const sts = buildStatefulSet(build, desiredFromLRP(lrp));
  sts.metadata.annotations[INSTANCES_ANNOTATION] = String(replicas);
  const created = kube.create("statefulsets", ns, sts);
  kube.create("poddisruptionbudgets", ns, buildPDB(build, lrp, created));
  kube.create("services", ns, buildRouteService(build, lrp, { hostname: `app-${i}.apps.example.com`, port: 8080 }, created));
}
kube.sim.drain();
// Pods exist now (one controller pass); run them all to Ready like kubelets would.
for (const pod of kube.list("pods", ns)) {
  kube.sim.bind(ns, pod.metadata.name);
  kube.sim.run(ns, pod.metadata.name, true);
}
kube.sim.drain();
const dir = mkdtempSync(join(tmpdir(), "eirini-bench-kube-"));
console.log(JSON.stringify({ kubeconfig: kube.writeKubeconfig(dir), pods: kube.list("pods", ns).length, statefulsets: kube.list("statefulsets", ns).length }));
for await (const _ of Bun.stdin.stream()) {
  // serve until the parent closes stdin
}
await kube.stop();
process.exit(0);
