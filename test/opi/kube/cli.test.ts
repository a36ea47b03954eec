import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { runCli, type CliIO } from "../../../src/cli/index.ts";
import { startKubeEmulator } from "../../support/kube/index.ts";
import { cleanupTempDirs, tempDir } from "../../support/tmp.ts";

afterAll(cleanupTempDirs);

function capture(env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (l) => out.push(l), err: (l) => err.push(l), env };
  return { io, out, err };
}

test("eirini install prints a least-privilege set of manifests for kubectl apply", async () => {
  const c = capture();
  expect(await runCli(["install", "--apps-namespace", "cf-apps", "--image", "registry.example/eirini:1"], c.io)).toBe(0);
  const docs = parseAllDocuments(c.out.join("\n")).map((d) => d.toJSON());
  const kinds = docs.map((d) => `${d.kind}/${d.metadata.name}`);
  expect(kinds).toEqual(["Namespace/eirini", "Namespace/cf-apps", "ServiceAccount/eirini", "Role/eirini-apps", "RoleBinding/eirini-apps", "ConfigMap/eirini-config", "PersistentVolumeClaim/eirini-data", "Deployment/eirini", "Service/eirini"]);
  const role = docs.find((d) => d.kind === "Role");
  expect(role.metadata.namespace).toBe("cf-apps");
  expect(role.rules.flatMap((r: any) => r.verbs)).not.toContain("*");
  const deploy = docs.find((d) => d.kind === "Deployment");
  const container = deploy.spec.template.spec.containers[0];
  expect(container.args[0]).toBe("in-cluster");
  expect(container.readinessProbe.httpGet.path).toBe("/readyz");
  expect(deploy.spec.template.spec.volumes[0].persistentVolumeClaim.claimName).toBe("eirini-data");
  const bad = capture();
  expect(await runCli(["install", "--namespace", "Not_Valid"], bad.io)).toBe(2);
  expect(bad.err[0]).toContain("--namespace must be a DNS-1123 label");
});

test("eirini doctor names what is missing and how to fix it", async () => {
  const kube = await startKubeEmulator({ namespaces: ["cf-apps"] });
  try {
    const dir = tempDir();
    const kubeconfig = kube.writeKubeconfig(dir);
    const registry = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("{}", { status: 401 }) });
    const cfg = join(dir, "config.json");
    writeFileSync(cfg, JSON.stringify({ dataDir: join(dir, "data"), kube: { kubeconfig, namespace: "cf-apps", registryAddress: `127.0.0.1:${registry.port}` } }));
    kube.faults.forbid("delete", "jobs");
    const c = capture();
    const code = await runCli(["doctor", "--config", cfg], c.io);
    registry.stop(true);
    const text = c.out.join("\n");
    expect(code).toBe(1);
    expect(text).toContain("ok    api server: reachable");
    expect(text).toContain("ok    namespace: cf-apps exists");
    expect(text).toContain("FAIL  permissions: not allowed in cf-apps: delete jobs.batch");
    expect(text).toContain("ok    registry:");
    expect(text).toContain("FAIL  stack: cflinuxfs4 is not imported");
    expect(text).toContain("fix: eirini stack import cflinuxfs4");
    writeFileSync(cfg, JSON.stringify({ dataDir: join(dir, "data"), kube: { kubeconfig, namespace: "nope" } }));
    const d = capture();
    await runCli(["doctor", "--config", cfg], d.io);
    expect(d.out.join("\n")).toContain("fix: kubectl create namespace nope");
    expect(d.out.join("\n")).toContain("FAIL  registry: kube.registryAddress is not set");
  } finally {
    await kube.stop();
  }
});

test("eirini in-cluster outside a pod refuses with one clear line", async () => {
  const c = capture({});
  expect(await runCli(["in-cluster"], c.io)).toBe(1);
  expect(c.err[0]).toContain("not running inside a Kubernetes pod");
});
