import { defaultSeccomp } from "./seccomp.ts";

/**
 * The OCI runtime config (config.json) of one container, Garden-style:
 * own PID, mount, IPC, UTS and network namespaces; the process runs as an
 * unprivileged user with no effective capabilities, no_new_privs and the
 * default seccomp profile; memory, pids and CPU shares from cgroups.
 */
export interface ContainerSpec {
  rootfs: string;
  hostname: string;
  /** argv of PID 1. */
  args: string[];
  env: Record<string, string>;
  cwd: string;
  uid: number;
  gid: number;
  /** Path of a network namespace made beforehand (bridge + veth), or undefined for a fresh empty one. */
  netns?: string;
  /** cgroups path relative to each controller's root, e.g. "/eirini-abc/<guid>". */
  cgroupsPath: string;
  memoryBytes: number;
  pidsLimit: number;
  cpuShares: number;
  /** Files bind-mounted read-only: container path -> host path. */
  readOnlyFiles?: Record<string, string>;
  /** Programs bind-mounted read-only and executable (the static init): container path -> host path. */
  executables?: Record<string, string>;
  /** Directories bind-mounted read-write: container path -> host path. */
  binds?: Record<string, string>;
  /** Open file limit (CF: 16384). */
  nofile?: number;
}

/**
 * The capabilities Garden leaves in an unprivileged container's bounding set.
 * The app's user is not root and gets none of them as effective, permitted or
 * ambient capabilities: only the bounding set is kept, as a ceiling.
 */
export const CF_DEFAULT_CAPS = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
  "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];

/** CPU shares as Garden gets them from Diego: 1024 * cpu_weight / 100, where weight = 100 * max(128, mem) / 8192 capped at 100 (DESIGN.md 4). */
export function cpuSharesForMemory(memoryMb: number, weight?: number): number {
  const w = weight ?? Math.min(100, Math.floor((100 * Math.max(128, memoryMb)) / 8192));
  return Math.max(2, Math.round((1024 * w) / 100));
}

export function runtimeConfig(s: ContainerSpec): Record<string, unknown> {
  const binds = Object.entries(s.binds ?? {}).map(([dest, src]) => ({ destination: dest, type: "bind", source: src, options: ["rbind", "rw", "nosuid", "nodev"] }));
  const programs = Object.entries(s.executables ?? {}).map(([dest, src]) => ({ destination: dest, type: "bind", source: src, options: ["bind", "ro", "nosuid", "nodev"] }));
  const files = Object.entries(s.readOnlyFiles ?? {}).map(([dest, src]) => ({ destination: dest, type: "bind", source: src, options: ["bind", "ro", "nosuid", "nodev", "noexec"] }));
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: s.uid, gid: s.gid, additionalGids: [s.gid] },
      args: s.args,
      env: Object.entries(s.env).map(([k, v]) => `${k}=${v}`),
      cwd: s.cwd,
      capabilities: { bounding: CF_DEFAULT_CAPS, effective: [], permitted: [], inheritable: [], ambient: [] },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: s.nofile ?? 16384, soft: s.nofile ?? 16384 }],
      noNewPrivileges: true,
    },
    root: { path: s.rootfs, readonly: false },
    hostname: s.hostname,
    mounts: [
      { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      ...files,
      ...programs,
      ...binds,
    ],
    linux: {
      namespaces: [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, s.netns ? { type: "network", path: s.netns } : { type: "network" }],
      cgroupsPath: s.cgroupsPath,
      resources: {
        devices: [{ allow: false, access: "rwm" }],
        memory: { limit: s.memoryBytes, swap: s.memoryBytes },
        pids: { limit: s.pidsLimit },
        cpu: { shares: s.cpuShares },
      },
      maskedPaths: ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
      seccomp: defaultSeccomp(),
    },
  };
}
