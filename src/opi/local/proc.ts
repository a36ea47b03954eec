import { readdirSync, readFileSync } from "node:fs";

/** Small readers of Linux /proc used to watch and identify process groups. */

export interface ProcStat {
  pid: number;
  pgrp: number;
  /** Start time in clock ticks since boot: with the pid, a process's identity. */
  startTicks: string;
  rssPages: number;
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
  return { pid, pgrp: Number(rest[2]), startTicks: rest[19] ?? "", rssPages: Number(rest[21]) };
}

/** Every live pid on the machine. */
export function listPids(): number[] {
  try {
    return readdirSync("/proc").filter((n) => /^\d+$/.test(n)).map(Number);
  } catch {
    return [];
  }
}

/** Resident memory in bytes per process group, for the groups asked about, in one /proc scan. */
export function groupRss(pgids: ReadonlySet<number>): Map<number, number> {
  const out = new Map<number, number>();
  if (pgids.size === 0) return out;
  for (const pid of listPids()) {
    const st = readStat(pid);
    if (st && pgids.has(st.pgrp)) out.set(st.pgrp, (out.get(st.pgrp) ?? 0) + st.rssPages * PAGE_SIZE);
  }
  return out;
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
