import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./appliance-process.ts";

/**
 * The compiled `eirini` binary that real-client tests run against: `EIRINI_BIN`
 * when set, else one `bun build --compile` per source state, shared by every
 * test file of a run (and by later runs while the sources are unchanged).
 * Concurrent test files race to build; each builds into its own temp file and
 * renames it into place, so a reader never sees a half-written binary.
 */
export function compiledEirini(): string {
  const given = process.env.EIRINI_BIN;
  if (given) return given;
  const stamp = sourceStamp();
  const dir = join(tmpdir(), "eirini-compiled");
  mkdirSync(dir, { recursive: true });
  const bin = join(dir, `eirini-${stamp}`);
  if (existsSync(bin)) return bin;
  const tmp = `${bin}.${process.pid}.${Date.now()}.tmp`;
  const build = Bun.spawnSync([process.execPath, "build", "--compile", "--minify", "--splitting", join(REPO_ROOT, "src/main.ts"), "--outfile", tmp], { stdout: "pipe", stderr: "pipe" });
  if (build.exitCode !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`bun build --compile failed: ${build.stderr.toString()}`);
  }
  renameSync(tmp, bin);
  return bin;
}

/** A cheap fingerprint of everything the binary embeds: newest mtime and file count under src/ and web/. */
function sourceStamp(): string {
  let newest = 0;
  let count = 0;
  for (const root of ["src", "web", "package.json", "bun.lock"]) {
    const abs = join(REPO_ROOT, root);
    if (!existsSync(abs)) continue;
    const st = statSync(abs);
    if (st.isFile()) {
      newest = Math.max(newest, st.mtimeMs);
      count++;
      continue;
    }
    for (const rel of new Bun.Glob("**/*").scanSync({ cwd: abs, onlyFiles: true })) {
      newest = Math.max(newest, statSync(join(abs, rel)).mtimeMs);
      count++;
    }
  }
  return `${Math.floor(newest)}-${count}`;
}
