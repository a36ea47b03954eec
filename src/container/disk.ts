import { run } from "./exec.ts";

/**
 * Bytes a directory tree takes on disk (allocated blocks, hard links once),
 * measured by `du` in a child process so a large writable layer never blocks
 * the appliance's event loop.
 */
export async function diskUsageBytes(dir: string): Promise<number> {
  const res = await run(["du", "-sx", "--block-size=1", dir], { allowFail: true });
  const n = Number.parseInt(res.stdout.split("\t")[0] ?? "", 10);
  return Number.isFinite(n) ? n : 0;
}
