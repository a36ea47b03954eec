import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../../../src/cli/index.ts";
import { createRegistry } from "../../../src/registry/index.ts";
import { silentLogger } from "../../../src/log/index.ts";
import { openStore } from "../../../src/store/index.ts";
import { loadConfig } from "../../../src/config/index.ts";
import { startEirini, type RunningEirini } from "../appliance-process.ts";
import { CF7_BIN, haveCf7, type CfResult } from "../cf-cli.ts";
import { compiledEirini } from "../compiled-binary.ts";
import { startContainerd, type Containerd } from "../containerd.ts";
import { createNetns, type Netns } from "../netns.ts";
import { STACK_CACHE, standInStack, type StackFlavour } from "../stack-rootfs.ts";
import { tempDir } from "../tmp.ts";
import { startKubeEmulator, type KubeEmulator } from "./index.ts";
import { RuntimeKubelet } from "./runtime-kubelet.ts";

/**
 * The whole Kubernetes path with the real runtime parts, for tests and the
 * push benchmark: the compiled appliance (`eirini local --backend kube`,
 * the shipped binary) against the API-server emulator, whose pods are run
 * by containerd + runc (RuntimeKubelet) in network namespaces; the stand-in
 * node stack imported with `eirini stack import`; the real cf CLI.
 *
 * Network: the appliance listens on the host end of a veth into a
 * namespace made here (the "cluster network" address, as kube.publicUrl
 * would be on a node); every pod has its own namespace routed through the
 * host, so pods reach the appliance and containerd pulls from the registry
 * at that address. Nothing listens on a non-test address.
 */
export interface RuntimeSession {
  url: string;
  hostIp: string;
  kube: KubeEmulator;
  containerd: Containerd;
  kubelet: RuntimeKubelet;
  eirini: RunningEirini;
  cf(args: string[], opts?: { cwd?: string; timeoutMs?: number }): Promise<CfResult>;
  ok(args: string[], opts?: { cwd?: string; timeoutMs?: number }): Promise<CfResult>;
  /** A long-running cf command (`cf logs APP`): its output so far, and a way to end it. */
  cfStream(args: string[]): { output(): string; stop(): Promise<void> };
  /** The eirini CLI (the compiled binary), logged in as admin. */
  eiriniCli(args: string[], opts?: { timeoutMs?: number }): Promise<CfResult>;
  /** A request through the appliance's router for `<host>.apps.localhost`. */
  route(host: string, path?: string): Promise<Response>;
  stop(): Promise<void>;
}

export const RUNTIME_NS = "cf-apps";

/** The stand-in stack (node by default) as a rootfs tarball, built once next to the stack cache. */
async function stackTarball(flavour: StackFlavour = "node"): Promise<string | { skip: string }> {
  const stack = await standInStack(flavour);
  if (!stack.rootfs) return { skip: `no stand-in stack: ${stack.reason}` };
  const tar = join(STACK_CACHE, `bookworm-${flavour}-v1.rootfs.tar`);
  if (existsSync(tar)) return tar;
  const tmp = `${tar}.${process.pid}.tmp`;
  const r = Bun.spawnSync(["tar", "-C", stack.rootfs, "--exclude=./.complete", "-cf", tmp, "."], { stderr: "pipe" });
  if (r.exitCode !== 0) {
    rmSync(tmp, { force: true });
    return { skip: `cannot tar the stand-in stack: ${r.stderr.toString().trim()}` };
  }
  renameSync(tmp, tar);
  return tar;
}

async function freePort(host: string): Promise<number> {
  const s = Bun.serve({ hostname: host, port: 0, fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

/**
 * `flavour`: which stand-in stack ("bare" has no node, python, ruby or go);
 * `beforeStart`: runs on the data dir before the appliance starts (e.g. `eirini runtimes add`).
 */
export async function startRuntimeSession(opts: { stack?: string; flavour?: StackFlavour; beforeStart?: (dataDir: string) => Promise<void> } = {}): Promise<RuntimeSession | { skip: string }> {
  if (!haveCf7) return { skip: `the cf CLI is not at ${CF7_BIN}` };
  const tar = await stackTarball(opts.flavour);
  if (typeof tar !== "string") return tar;
  const containerd = await startContainerd();
  if ("skip" in containerd) return containerd;
  const net = createNetns();
  if ("skip" in net) {
    await containerd.stop();
    return net;
  }
  const stack = opts.stack ?? "cflinuxfs4";
  const dataDir = tempDir("eirini-runtime-data-");
  const password = `rt-${crypto.randomUUID()}`;
  let kube: KubeEmulator | undefined;
  let kubelet: RuntimeKubelet | undefined;
  let eirini: RunningEirini | undefined;
  const cleanup = async () => {
    await eirini?.stop();
    await kubelet?.stop();
    await kube?.stop();
    await containerd.stop();
    (net as Netns).remove();
  };
  try {
    const hostIp = net.hostIp;
    const port = await freePort(hostIp);
    const registryAddress = `${hostIp}:${port}`;
    // The stack, as a user imports it.
    const io = { out: () => {}, err: (l: string) => console.error(l), env: {} };
    if ((await runCli(["stack", "import", stack, tar, "--data-dir", dataDir], io)) !== 0) throw new Error("eirini stack import failed");
    // The staging image: the stack itself, served by the embedded registry (a droplet-less composition).
    const store = openStore(dataDir);
    let stagingImage: string;
    try {
      const config = loadConfig({ flags: { dataDir } as never });
      const registry = createRegistry({ store, config, tokenKey: "x", logger: silentLogger });
      const empty = Bun.gzipSync(await emptyDroplet() as Uint8Array<ArrayBuffer>);
      const { digest } = await store.blobs.putBytes(empty);
      const img = await registry.composeDropletImage({ dropletHash: digest.slice(7), stack, repo: `stacks/${stack}`, startCommand: "" });
      stagingImage = `${registryAddress}/${img.reference}`;
    } finally {
      store.close();
    }
    kube = await startKubeEmulator({ namespaces: [RUNTIME_NS] });
    // The emulator's simulated kubelet stands aside: the runtime kubelet runs every pod.
    kube.sim.behavior = () => ({ kind: "pending" });
    kubelet = new RuntimeKubelet({ kube, namespace: RUNTIME_NS, containerd, workDir: tempDir("eirini-runtime-pods-") });
    kubelet.start();
    const cfgDir = tempDir("eirini-runtime-cfg-");
    const configFile = join(cfgDir, "config.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        backend: "kube",
        kube: { kubeconfig: kube.writeKubeconfig(cfgDir), namespace: RUNTIME_NS, registryAddress, stagingImage },
        sink: { fullPassIntervalMs: 3_600_000 },
      }),
    );
    await opts.beforeStart?.(dataDir);
    eirini = await startEirini(["--host", hostIp, "--port", String(port), "--data-dir", dataDir, "--config", configFile], { EIRINI_BIN: compiledEirini(), EIRINI_ADMIN_PASSWORD: password }, 60_000);
    const url = eirini.url;
    const cfHome = tempDir("eirini-runtime-cf-");
    const cf: RuntimeSession["cf"] = async (args, o = {}) => {
      const proc = Bun.spawn([CF7_BIN, ...args], {
        cwd: o.cwd,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cfHome, CF_HOME: cfHome, CF_COLOR: "false", CF_PLUGIN_HOME: cfHome, LANG: "en_US.UTF-8" },
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
      const timer = setTimeout(() => proc.kill("SIGKILL"), o.timeoutMs ?? 180_000);
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      clearTimeout(timer);
      return { code, stdout, stderr, out: stdout + stderr };
    };
    const cfStream: RuntimeSession["cfStream"] = (args) => {
      const proc = Bun.spawn([CF7_BIN, ...args], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cfHome, CF_HOME: cfHome, CF_COLOR: "false", CF_PLUGIN_HOME: cfHome, LANG: "en_US.UTF-8" },
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
      let out = "";
      const pump = async (st: ReadableStream<Uint8Array>) => {
        const dec = new TextDecoder();
        for await (const c of st) out += dec.decode(c, { stream: true });
      };
      const pumped = Promise.all([pump(proc.stdout), pump(proc.stderr)]);
      return {
        output: () => out,
        async stop() {
          proc.kill("SIGINT");
          await Promise.race([proc.exited, Bun.sleep(3_000)]);
          if (proc.exitCode === null) proc.kill("SIGKILL");
          await pumped.catch(() => {});
        },
      };
    };
    const ok: RuntimeSession["ok"] = async (args, o) => {
      const r = await cf(args, o);
      if (r.code !== 0) throw new Error(`cf ${args.join(" ")} exited ${r.code}:\n${r.out}`);
      return r;
    };
    await ok(["api", url, "--skip-ssl-validation"]);
    await ok(["auth", "admin", password]);
    await ok(["target", "-o", "eirini", "-s", "dev"]);
    const clientEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cfHome, EIRINI_CLIENT_CONFIG: join(cfHome, "eirini-client.json") };
    const eiriniCli: RuntimeSession["eiriniCli"] = async (args, o = {}) => {
      const proc = Bun.spawn([compiledEirini(), ...args], { env: clientEnv, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      const timer = setTimeout(() => proc.kill("SIGKILL"), o.timeoutMs ?? 180_000);
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      clearTimeout(timer);
      return { code, stdout, stderr, out: stdout + stderr };
    };
    const login = await eiriniCli(["login", "--api", url, "-p", password]);
    if (login.code !== 0) throw new Error(`eirini login failed: ${login.out}`);
    return {
      eiriniCli,
      url,
      hostIp,
      kube,
      containerd,
      kubelet,
      eirini,
      cf,
      ok,
      cfStream,
      route: (host, path = "/") => fetch(`${url}${path}`, { headers: { host: `${host}.apps.localhost` } }),
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function emptyDroplet(): Promise<Uint8Array> {
  const { makeTar } = await import("../../registry/fixtures.ts");
  return makeTar([
    { name: "./", type: "directory" },
    { name: "./app/", type: "directory" },
    { name: "./staging_info.yml", body: JSON.stringify({ detected_buildpack: "", start_command: "" }) },
  ]);
}

/** cf push succeeded: exit 0, the final app summary included. */
export function pushed(r: { code: number; out: string }): boolean {
  return r.code === 0;
}
