import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Reads a container's cgroup accounting (cgroup v1 as on these machines, v2
 * where the unified hierarchy is the only one). Paths are the runc
 * `cgroupsPath` under each controller's mount.
 */
const ROOT = "/sys/fs/cgroup";

function read(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

export function isCgroupV2(): boolean {
  return existsSync(join(ROOT, "cgroup.controllers"));
}

/** True when the memory and pids controllers can be used. */
export function cgroupsUsable(): { ok: boolean; detail: string } {
  if (isCgroupV2()) {
    const ctl = read(join(ROOT, "cgroup.controllers")) ?? "";
    const ok = ctl.includes("memory") && ctl.includes("pids");
    return { ok, detail: ok ? "cgroup v2 with memory and pids controllers" : `cgroup v2 lacks memory/pids controllers (${ctl.trim()})` };
  }
  const ok = existsSync(join(ROOT, "memory", "memory.limit_in_bytes")) && existsSync(join(ROOT, "pids"));
  return { ok, detail: ok ? "cgroup v1 with memory and pids controllers" : "no memory or pids cgroup controller mounted under /sys/fs/cgroup" };
}

export interface CgroupUsage {
  memoryBytes: number;
  /** Times the kernel's OOM killer killed a process of this cgroup. */
  oomKills: number;
  pids: number;
  cpuNanos: number;
}

function num(text: string | null): number {
  const n = Number((text ?? "").trim());
  return Number.isFinite(n) ? n : 0;
}

function field(text: string | null, name: string): number {
  const m = (text ?? "").match(new RegExp(`^${name} (\\d+)`, "m"));
  return m ? Number(m[1]) : 0;
}

/** Current usage of a cgroup, or null when it does not exist (the container was deleted). */
export function cgroupUsage(path: string): CgroupUsage | null {
  if (isCgroupV2()) {
    const dir = join(ROOT, path);
    if (!existsSync(dir)) return null;
    return {
      memoryBytes: num(read(join(dir, "memory.current"))),
      oomKills: field(read(join(dir, "memory.events")), "oom_kill"),
      pids: num(read(join(dir, "pids.current"))),
      cpuNanos: field(read(join(dir, "cpu.stat")), "usage_usec") * 1000,
    };
  }
  const mem = join(ROOT, "memory", path);
  if (!existsSync(mem)) return null;
  const stat = read(join(mem, "memory.stat"));
  // Usage as `docker stats` shows it: total minus the inactive page cache the kernel can drop.
  const usage = Math.max(0, num(read(join(mem, "memory.usage_in_bytes"))) - field(stat, "total_inactive_file"));
  return {
    memoryBytes: usage,
    oomKills: field(read(join(mem, "memory.oom_control")), "oom_kill"),
    pids: num(read(join(ROOT, "pids", path, "pids.current"))),
    cpuNanos: num(read(join(ROOT, "cpuacct", path, "cpuacct.usage"))),
  };
}

/** Removes the (empty) parent cgroup of the appliance's containers in every hierarchy. */
export function removeCgroupParent(path: string): void {
  const dirs = isCgroupV2() ? [join(ROOT, path)] : readdirSync(ROOT).map((c) => join(ROOT, c, path));
  for (const d of dirs) {
    try {
      rmdirSync(d);
    } catch {
      // absent, or still in use
    }
  }
}

/**
 * Makes the parent cgroup of the appliance's containers weigh like one busy
 * process per CPU against the rest of the machine. Per-container shares are
 * CF's (small for small apps: 10 for 128 MB); they only divide the parent's
 * part among containers, so a busy host cannot starve every app.
 */
export function prepareCgroupParent(path: string, cpus = navigator.hardwareConcurrency || 1): void {
  try {
    if (isCgroupV2()) {
      const dir = join(ROOT, path);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "cpu.weight"), String(Math.min(10_000, 100 * cpus)));
      return;
    }
    const dir = join(ROOT, "cpu", path);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "cpu.shares"), String(1024 * cpus));
  } catch {
    // Not fatal: containers then share one process's weight.
  }
}
