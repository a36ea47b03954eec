import { test, setDefaultTimeout } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ContainerHost, containerSupport } from "../../src/container/index.ts";
import { createLocalExecutor } from "../../src/st8ge/index.ts";
import { standInStack } from "../support/stack-rootfs.ts";
import { runExecutorContract } from "./executor-contract.ts";
import { tempDir } from "./support.ts";

// Real containers on a shared 2-core machine: starts can take longer than bun's 5 s default under load.
setDefaultTimeout(30_000);

/**
 * Whether a process a buildpack started (pid as seen in its container's own
 * PID namespace) still runs anywhere on this host inside one of this host's
 * staging containers: /proc/<p>/status NSpid ends with that pid, and
 * /proc/<p>/cgroup puts it under our staging containers.
 */
function containedPidAlive(cgroupParent: string, pid: number): boolean {
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, "utf8");
      if (/^State:\s+Z/m.test(status)) continue;
      const ns = /^NSpid:\s+(.+)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
      if (ns.length < 2 || Number(ns[ns.length - 1]) !== pid) continue;
      if (readFileSync(`/proc/${name}/cgroup`, "utf8").includes(`${cgroupParent}/stg-`)) return true;
    } catch {
      // gone
    }
  }
  return false;
}

const support = containerSupport();
const stack = support.ok ? await standInStack("bare") : { rootfs: null, reason: "" };
if (!support.ok || !stack.rootfs) {
  const why = !support.ok ? support.checks.filter((c) => !c.ok).map((c) => c.detail).join("; ") : stack.reason;
  test.skip(`StagingExecutor contract: local (containers): skipped: containers unavailable here (${why})`, () => {});
} else {
  const root = tempDir("st8ge-containers-");
  const host = new ContainerHost({ stateDir: join(root, "containers") });
  // Buildpacks in the contract write pid files here: it is mounted into every staging container, writable by vcap.
  const shared = join(root, "shared");
  mkdirSync(shared);
  chmodSync(shared, 0o1777);
  const rootfs = stack.rootfs;
  let n = 0;
  runExecutorContract("local (containers)", () => {
    const workRoot = join(root, `work-${++n}`);
    return {
      executor: createLocalExecutor({ workRoot, pollMs: 50, container: { host, stackRootfs: async () => rootfs, binds: [shared] } }),
      workRoot,
      sharedDir: shared,
      pidAlive: (pid) => containedPidAlive(`/eirini-${host.network.bridge}`, pid),
    };
  });
  test("buildpacks run as vcap in a container of their own: no host files, no host processes, no capabilities", async () => {
    const { shellBuildpack, writeTree } = await import("./support.ts");
    const workRoot = join(root, "work-probe");
    const bp = shellBuildpack(join(root, "probe-bp"), {
      compile: [
        'echo "uid=$(id -u)"',
        'echo "procs=$(ls /proc | grep -c "^[0-9]")"',
        "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status",
        `test -e '${root}/shared' && echo sees-shared`,
        `test -e '${root}/probe-bp' || echo no-host-files`,
        "test -e /etc/debian_version && echo on-the-stack",
      ].join("\n"),
      release: "echo '--- {}'",
    });
    const app = writeTree(join(root, "probe-app"), { "index.txt": "x" });
    const lines: string[] = [];
    const out = await createLocalExecutor({ workRoot, pollMs: 50, container: { host, stackRootfs: async () => rootfs, binds: [shared] } }).run(
      { id: "probe", package: { dir: app }, buildpacks: [{ name: "probe", source: { dir: bp } }], detect: false, env: {}, startCommand: "x", limits: { timeoutMs: 30_000, memoryBytes: 256 << 20, diskBytes: 256 << 20 }, dropletPath: join(root, "probe.tgz") },
      { onLine: (_s, m) => lines.push(m) },
    );
    out.dispose();
    const { expect } = await import("bun:test");
    expect(lines).toEqual(expect.arrayContaining(["uid=2000", "CapEff:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2", "sees-shared", "no-host-files", "on-the-stack"]));
    expect(Number(lines.find((l) => l.startsWith("procs="))?.slice(6))).toBeLessThanOrEqual(6);
  });

  test("staging containers leave no bridge behind", async () => {
    await host.teardownIfIdle();
  });
}
