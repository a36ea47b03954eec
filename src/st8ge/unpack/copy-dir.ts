import { lstatSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { UnsafeArchiveError } from "../errors.ts";
import { DEFAULT_TREE_LIMITS, SafeTree, type TreeLimits } from "./safe-tree.ts";

/**
 * Copies a directory tree into `dest` through the same checks as archives:
 * symlinks are kept only when they stay inside the tree, devices and fifos
 * are refused, sizes are bounded. The source is only read.
 */
export async function copyDirSafely(src: string, dest: string, limits: TreeLimits = DEFAULT_TREE_LIMITS): Promise<{ entries: number; bytes: number }> {
  const root = lstatSync(src);
  if (!root.isDirectory()) throw new UnsafeArchiveError(`${src} is not a directory`);
  const tree = new SafeTree(dest, limits);
  let entries = 0;
  let lastYield = performance.now();
  const walk = async (rel: string): Promise<void> => {
    for (const d of readdirSync(join(src, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${d.name}` : d.name;
      const abs = join(src, child);
      entries++;
      if (d.isDirectory()) {
        tree.dir(child, lstatSync(abs).mode);
        await walk(child);
      } else if (d.isSymbolicLink()) {
        tree.symlink(child, readlinkSync(abs));
      } else if (d.isFile()) {
        const st = lstatSync(abs);
        tree.copyFrom(child, abs, st.size, st.mode);
      } else {
        throw new UnsafeArchiveError(`${child} is a device, fifo or socket`);
      }
      if (performance.now() - lastYield > 10) {
        await new Promise((r) => setImmediate(r));
        lastYield = performance.now();
      }
    }
  };
  await walk("");
  tree.seal();
  return { entries, bytes: tree.totalBytes };
}
