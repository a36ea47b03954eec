import { readdirSync, readFileSync } from "node:fs";

/** Small readers of Linux /proc used to watch and identify process groups. */

export interface ProcStat {
  pid: number;
  pgrp: number;
  /** Start time in clock ticks since boot: with the pid, a process's identity. */
  startTicks: string;
  rssPages: number;
  /** User + system CPU time in clock ticks (fields 14 and 15). */
  cpuTicks: number;
}

export const PAGE_SIZE = 4096;

/** Parses /proc/<pid>/stat; null when the process is gone. */
export function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // comm (field 2) may contain spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); field N is rest[N - 3].
  if (rest[0] === "Z") return null;
  return { pid, pgrp: Number(rest[2]), startTicks: rest[19] ?? "", rssPages: Number(rest[21]), cpuTicks: Number(rest[11]) + Number(rest[12]) };
}

/** Every live pid on the machine. */
export function listPids(): number[] {
  try {
    return readdirSync("/proc").filter((n) => /^\d+$/.test(n)).map(Number);
  } catch {
    return [];
  }
}

/** Clock ticks per second of /proc CPU times (USER_HZ: 100 on every Linux architecture we run on). */
export const CLOCK_TICKS = 100;

/** Resident memory (bytes) and CPU time (ticks) per process group, for the groups asked about, in one /proc scan. */
export function groupUsage(pgids: ReadonlySet<number>): Map<number, { rss: number; cpuTicks: number }> {
  const out = new Map<number, { rss: number; cpuTicks: number }>();
  if (pgids.size === 0) return out;
  for (const pid of listPids()) {
    const st = readStat(pid);
    if (!st || !pgids.has(st.pgrp)) continue;
    const u = out.get(st.pgrp) ?? { rss: 0, cpuTicks: 0 };
    u.rss += st.rssPages * PAGE_SIZE;
    u.cpuTicks += st.cpuTicks;
    out.set(st.pgrp, u);
  }
  return out;
}

/** Resident memory in bytes per process group, for the groups asked about, in one /proc scan. */
export function groupRss(pgids: ReadonlySet<number>): Map<number, number> {
  return new Map([...groupUsage(pgids)].map(([g, u]) => [g, u.rss]));
}

/** Value of one environment variable of a process (same user only), or undefined. */
export function readEnvVar(pid: number, name: string): string | undefined {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/environ`, "utf8");
  } catch {
    return undefined;
  }
  const prefix = `${name}=`;
  for (const kv of raw.split("\0")) if (kv.startsWith(prefix)) return kv.slice(prefix.length);
  return undefined;
}

/** Sends a signal to a whole process group; false when the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (pgid <= 1) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export function alive(pid: number): boolean {
  return readStat(pid) !== null;
}
