import { cpSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { builderScript, buildpackCacheKey, packTree, StagingError, UnsafeArchiveError, unpackSource, type StagingJob } from "../../st8ge/index.ts";

function sizeText(bytes: number): string {
  const MB = 1024 * 1024;
  return bytes >= MB ? `${(bytes / MB).toFixed(1)}M` : `${Math.max(1, Math.round(bytes / 1024))}K`;
}

// Diego's cache dir names (xxhash64 of the buildpack key), the same as local staging's.
const cacheKey = buildpackCacheKey;

/**
 * Builds what a staging pod downloads, on the appliance: the app package and
 * buildpacks unpacked by st8ge's safe unpackers (so a hostile package is
 * refused here with the same errors as local staging, before any Job
 * exists), the previous buildpack cache, the plan and builder.sh, in the
 * work-dir layout builder.sh expects; then packed as one .tgz at `out`.
 */
export async function prepareStagingInput(job: StagingJob, tree: string, out: string, o: { maxEntries: number; gzipLevel: number; onLine(stream: "OUT" | "ERR", m: string): void }): Promise<void> {
  for (const d of ["droplet/deps", "droplet/profile.d", "droplet/tmp", "droplet/logs", "buildpacks", "cache", "out", "home", "tmp"]) mkdirSync(join(tree, d), { recursive: true });
  const limits = { maxBytes: job.limits.diskBytes, maxEntries: o.maxEntries };
  try {
    const got = await unpackSource(job.package, join(tree, "droplet", "app"), limits);
    o.onLine("OUT", `Downloaded app package (${sizeText(got.bytes)})`);
  } catch (err) {
    if (err instanceof UnsafeArchiveError) throw new StagingError("InvalidPackage", `app package rejected: ${err.message}`, { cause: err });
    throw err;
  }
  for (const [i, bp] of job.buildpacks.entries()) {
    try {
      // Zips made without Unix modes (Windows) still need runnable bin/ scripts.
      await unpackSource(bp.source, join(tree, "buildpacks", String(i)), limits, { defaultMode: (n) => (n.startsWith("bin/") ? 0o755 : 0o644) });
    } catch (err) {
      if (err instanceof UnsafeArchiveError) throw new StagingError("StagerError", `buildpack ${bp.name} rejected: ${err.message}`, { cause: err });
      throw err;
    }
  }
  if (job.cacheDir && existsSync(job.cacheDir)) cpSync(job.cacheDir, join(tree, "cache"), { recursive: true, verbatimSymlinks: true });
  writeFileSync(join(tree, "plan"), job.buildpacks.map((b, i) => `${i} ${cacheKey(b.name)}\n`).join(""));
  writeFileSync(join(tree, "lifecycle.sh"), builderScript, { mode: 0o755 });
  // No `./` entry: the pod (uid 2000) unpacks into a root-owned 0777 emptyDir, and GNU tar
  // fails ("Cannot change mode") when asked to restore the mode of a directory it does not own.
  await packTree(tree, out, o.gzipLevel, { rootEntry: false });
}
