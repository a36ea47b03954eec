import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

let pageSize: number | undefined;

/** Bytes per page as the kernel counts RSS (from /proc/self: VmRSS kB over statm pages). */
function pageBytes(): number {
  if (pageSize !== undefined) return pageSize;
  pageSize = 4096;
  try {
    const pages = Number(readFileSync("/proc/self/statm", "utf8").split(" ")[1]);
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]);
    if (pages > 0 && kb > 0) {
      const guess = (kb * 1024) / pages;
      for (const p of [4096, 16384, 65536]) if (Math.abs(guess - p) / p < 0.2) pageSize = p;
    }
  } catch {
    // No /proc: memory is not watched (see groupRssBytes).
  }
  return pageSize;
}

/** Whether this machine lets us watch process memory (/proc). */
export function canWatchMemory(): boolean {
  try {
    readFileSync("/proc/self/stat");
    return true;
  } catch {
    return false;
  }
}

/** Sum of the resident memory of every process in process group `pgid`, from /proc. */
export function groupRssBytes(pgid: number): number {
  let pages = 0;
  let pids: string[];
  try {
    pids = readdirSync("/proc");
  } catch {
    return 0;
  }
  for (const pid of pids) {
    if (pid.charCodeAt(0) < 48 || pid.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the command name (which may hold spaces): state ppid pgrp ... rss is the 24th field.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(f[2]) === pgid) pages += Number(f[21]) || 0;
  }
  return pages * pageBytes();
}

/** Disk blocks used under `dir` in bytes (sparse files count what they really take); links are not followed. */
export function diskUsageBytes(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      try {
        total += lstatSync(p).blocks * 512;
      } catch {
        continue;
      }
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return total;
}
