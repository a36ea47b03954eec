import { afterAll, beforeAll, expect, test } from "bun:test";
import { ConfigSchema } from "../../../src/config/index.ts";
import { kubeDoctor, type Check } from "../../../src/opi/kube/doctor.ts";
import { RUN_LOCALLY_LABEL, startKubeEmulator, type KubeEmulator } from "../../support/kube/index.ts";
import { createNetns, type Netns } from "../../support/netns.ts";
import { cleanupTempDirs, tempDir } from "../../support/tmp.ts";

/**
 * `eirini doctor` asks a pod whether the appliance (publicUrl) and the
 * registry are reachable. The emulator's kubelet runs the probe pod's curl
 * for real inside a network namespace this test made (veth to the host):
 * loopback addresses fail from there, the host's veth address works. The
 * doctor never looks at the address's text.
 */
let netns: Netns | undefined;
let skip = "";
let kube: KubeEmulator;
let dir: string;
const servers: ReturnType<typeof Bun.serve>[] = [];
const answer = (req: Request) => (new URL(req.url).pathname === "/healthz" ? Response.json({ status: "ok" }) : new Response("{}", { status: 401 }));

beforeAll(async () => {
  const n = createNetns();
  if ("skip" in n) {
    skip = n.skip;
    console.log(`skip doctor pod-network checks: ${n.skip}`);
    return;
  }
  netns = n;
  kube = await startKubeEmulator({ namespaces: ["cf-apps"], runPodsLocally: true, podNetns: n.name });
  dir = tempDir();
});

afterAll(async () => {
  for (const s of servers) s.stop(true);
  await kube?.stop();
  netns?.remove();
  cleanupTempDirs();
});

function serve(hostname: string): string {
  const s = Bun.serve({ hostname, port: 0, fetch: answer });
  servers.push(s);
  return `${hostname}:${s.port}`;
}

async function doctor(kubeCfg: Record<string, unknown>): Promise<Check[]> {
  const config = ConfigSchema.parse({ dataDir: dir, kube: { kubeconfig: kube.writeKubeconfig(dir), namespace: "cf-apps", ...kubeCfg } });
  return kubeDoctor(config, { stacks: () => ["cflinuxfs4"], podLabels: { [RUN_LOCALLY_LABEL]: "true" }, probeTimeoutMs: 20_000 });
}

const pick = (checks: Check[], name: string) => checks.find((c) => c.name === name)!;

test("loopback publicUrl and registryAddress answer here but not from a pod: doctor fails with the fix", async () => {
  if (skip) return;
  const loopback = serve("127.0.0.1");
  const checks = await doctor({ publicUrl: `http://${loopback}`, registryAddress: loopback });
  // From here both answer (the old check passed); from the pod's network neither does.
  expect(pick(checks, "registry").ok).toBe(true);
  const app = pick(checks, "appliance from pods");
  expect(app.ok).toBe(false);
  expect(app.detail).toContain(`cannot reach the appliance at http://${loopback} (no answer)`);
  expect(app.fix).toContain("kube.publicUrl");
  const reg = pick(checks, "registry from pods");
  expect(reg.ok).toBe(false);
  expect(reg.fix).toContain("kube.registryAddress");
  expect(kube.list("jobs", "cf-apps")).toEqual([]);
}, 30_000);

test("addresses on the pod network pass", async () => {
  if (skip) return;
  const reachable = serve(netns!.hostIp);
  const checks = await doctor({ publicUrl: `http://${reachable}/`, registryAddress: reachable });
  expect(pick(checks, "appliance from pods")).toMatchObject({ ok: true });
  expect(pick(checks, "registry from pods")).toMatchObject({ ok: true });
}, 30_000);
