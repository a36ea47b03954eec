import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * Bytes allocated under a directory (blocks, not apparent sizes; links not
 * followed; hard links counted once, as `du` does), for an instance's disk
 * usage in process stats. Unreadable entries count as nothing.
 */
export function treeBytes(root: string, limitEntries = 200_000): number {
  const seen = new Set<string>();
  let total = 0;
  let entries = 0;
  const stack = [root];
  while (stack.length > 0 && entries < limitEntries) {
    const dir = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      entries++;
      const path = join(dir, name);
      let st;
      try {
        st = lstatSync(path);
      } catch {
        continue;
      }
      const id = `${st.dev}:${st.ino}`;
      if (seen.has(id)) continue;
      seen.add(id);
      total += st.blocks * 512;
      if (st.isDirectory()) stack.push(path);
    }
  }
  return total;
}
