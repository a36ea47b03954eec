import type { Subprocess } from "bun";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./tmp.ts";

/**
 * A private containerd (Debian's containerd 1.6, the image puller a kubelet
 * uses) for tests: its root, state, gRPC socket and config file all sit in
 * a temp directory, so it shares nothing with any other containerd on the
 * machine. `ctr` talks to it through `--address`.
 *
 * `startContainerd()` returns `{ skip }` with one line where it cannot run
 * here (not root, binaries absent, or the daemon does not come up).
 */
export interface Containerd {
  address: string;
  namespace: string;
  dir: string;
  /** Runs `ctr --address … --namespace … <args>`. */
  ctr(args: string[], opts?: { timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export async function startContainerd(): Promise<Containerd | { skip: string }> {
  if (process.getuid?.() !== 0) return { skip: "containerd tests need root (containerd, runc)" };
  for (const bin of ["containerd", "ctr", "runc", "containerd-shim-runc-v2"]) {
    if (!Bun.which(bin)) return { skip: `${bin} is not installed (apt-get install containerd runc)` };
  }
  const dir = tempDir("eirini-containerd-");
  const address = join(dir, "containerd.sock");
  const config = join(dir, "config.toml");
  mkdirSync(join(dir, "root"));
  mkdirSync(join(dir, "state"));
  // The CRI plugin is a kubelet's door into containerd; ctr does not need it.
  writeFileSync(
    config,
    [
      "version = 2",
      `root = "${join(dir, "root")}"`,
      `state = "${join(dir, "state")}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      "[grpc]",
      `  address = "${address}"`,
      "[ttrpc]",
      `  address = "${address}.ttrpc"`,
      "[debug]",
      '  address = ""',
      "[metrics]",
      '  address = ""',
      "",
    ].join("\n"),
  );
  const logPath = join(dir, "containerd.log");
  const proc: Subprocess = Bun.spawn(["containerd", "--config", config], { stdout: Bun.file(logPath), stderr: Bun.file(logPath), stdin: "ignore" });
  const namespace = "eirini-test";
  const ctr: Containerd["ctr"] = async (args, opts = {}) => {
    const p = Bun.spawn(["ctr", "--address", address, "--namespace", namespace, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    clearTimeout(timer);
    return { code, stdout, stderr };
  };
  const stop = async () => {
    // Tasks and containers first, so no mount is left under the root.
    const tasks = await ctr(["tasks", "ls", "-q"]).catch(() => ({ stdout: "" }));
    for (const id of tasks.stdout.split("\n").filter(Boolean)) await ctr(["tasks", "kill", "-s", "SIGKILL", id]).catch(() => {});
    for (const id of tasks.stdout.split("\n").filter(Boolean)) await ctr(["tasks", "delete", "-f", id]).catch(() => {});
    const containers = await ctr(["containers", "ls", "-q"]).catch(() => ({ stdout: "" }));
    for (const id of containers.stdout.split("\n").filter(Boolean)) await ctr(["containers", "delete", id]).catch(() => {});
    proc.kill("SIGTERM");
    const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(3_000).then(() => false)]);
    if (!exited) proc.kill("SIGKILL");
    // Snapshots mounted by a crashed container would keep the directory busy.
    Bun.spawnSync(["sh", "-c", `grep -o ' ${dir}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) break;
    if (existsSync(address) && (await ctr(["version"], { timeoutMs: 5_000 })).code === 0) return { address, namespace, dir, ctr, stop };
    if (Date.now() > deadline) break;
    await Bun.sleep(50);
  }
  const log = existsSync(logPath) ? readFileSync(logPath, "utf8").trim().split("\n").slice(-2).join(" | ") : "";
  await stop();
  return { skip: `containerd did not start here${log ? `: ${log}` : ""}` };
}
