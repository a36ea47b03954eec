import { existsSync, readFileSync } from "node:fs";
import { cgroupsUsable } from "./cgroup.ts";
import { TOOL_PATH } from "./exec.ts";

/** One prerequisite of container isolation, with what to do when it is missing. */
export interface SupportCheck {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

export interface ContainerSupport {
  ok: boolean;
  checks: SupportCheck[];
}

/** Whether this machine can run the appliance's containers: root, runc, cgroups, overlayfs, CNI plugins, iproute2, iptables. */
export function containerSupport(opts: { cniPath?: string } = {}): ContainerSupport {
  const cni = opts.cniPath ?? "/usr/lib/cni";
  const checks: SupportCheck[] = [];
  const root = process.getuid?.() === 0;
  checks.push({ name: "root", ok: root, detail: root ? "running as root" : "not running as root (runc, mounts and bridges need it)", fix: "run the appliance as root (e.g. a systemd unit), or set local.isolation: process" });
  const runc = Bun.which("runc", { PATH: TOOL_PATH });
  checks.push({ name: "runc", ok: !!runc, detail: runc ? runc : "runc not found on PATH", fix: "apt-get install runc" });
  const cg = cgroupsUsable();
  checks.push({ name: "cgroups", ok: cg.ok, detail: cg.detail, fix: "mount the memory and pids cgroup controllers (any systemd distribution does)" });
  let overlay = false;
  try {
    overlay = readFileSync("/proc/filesystems", "utf8").includes("overlay");
  } catch {
    overlay = false;
  }
  checks.push({ name: "overlayfs", ok: overlay, detail: overlay ? "overlay filesystem available" : "the kernel has no overlay filesystem", fix: "modprobe overlay" });
  const plugins = existsSync(`${cni}/bridge`) && existsSync(`${cni}/host-local`);
  checks.push({ name: "CNI plugins", ok: plugins, detail: plugins ? `${cni}/bridge and host-local` : `no bridge/host-local plugins in ${cni}`, fix: "apt-get install containernetworking-plugins" });
  for (const tool of ["ip", "iptables", "mount", "du"]) {
    const found = Bun.which(tool, { PATH: TOOL_PATH });
    checks.push({ name: tool, ok: !!found, detail: found ?? `${tool} not found`, fix: tool === "ip" ? "apt-get install iproute2" : tool === "iptables" ? "apt-get install iptables" : "apt-get install util-linux coreutils" });
  }
  return { ok: checks.every((c) => c.ok), checks };
}
