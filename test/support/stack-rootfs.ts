import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";

/**
 * A stand-in for the cflinuxfs4 stack, built from Debian's packages with
 * `debootstrap --variant=minbase bookworm` (../shared/kube/README.md), for
 * tests that run real containers (runc, containerd). Built once per machine
 * and cached outside the repository; CI builds it when it is absent.
 *
 * Two flavours:
 * - "bare": minbase plus what staging's shell scripts use (curl, tar, gzip,
 *   ca-certificates): no node, python, ruby or go, like the real cflinuxfs4.
 * - "node": the same plus Debian's nodejs, for apps whose runtime the
 *   buildpack does not yet bring.
 *
 * Returns the rootfs directory, or null (with the reason) where it cannot be
 * built here: not root, or no debootstrap.
 */
export type StackFlavour = "bare" | "node";

const PACKAGES: Record<StackFlavour, string[]> = {
  bare: ["curl", "ca-certificates", "tar", "gzip", "unzip", "procps"],
  node: ["curl", "ca-certificates", "tar", "gzip", "unzip", "procps", "nodejs"],
};

export const STACK_CACHE = process.env.EIRINI_TEST_STACK_CACHE ?? "/var/cache/eirini-test/stacks";

export interface StackResult {
  rootfs: string | null;
  reason?: string;
}

const building = new Map<StackFlavour, Promise<StackResult>>();

export function standInStack(flavour: StackFlavour = "node"): Promise<StackResult> {
  let p = building.get(flavour);
  if (!p) {
    p = build(flavour);
    building.set(flavour, p);
  }
  return p;
}

async function build(flavour: StackFlavour): Promise<StackResult> {
  const dir = join(STACK_CACHE, `bookworm-${flavour}-v1`);
  if (existsSync(join(dir, ".complete"))) return { rootfs: dir };
  if (process.getuid?.() !== 0) return { rootfs: null, reason: "building the stand-in stack needs root (debootstrap)" };
  if (!Bun.which("debootstrap")) return { rootfs: null, reason: "debootstrap is not installed (apt-get install debootstrap)" };
  mkdirSync(STACK_CACHE, { recursive: true });
  // Another process (a parallel test file) may be building it: wait on its lock.
  const lock = `${dir}.lock`;
  for (let i = 0; i < 1200; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(join(dir, ".complete"))) return { rootfs: dir };
      await Bun.sleep(500);
    }
  }
  try {
    if (existsSync(join(dir, ".complete"))) return { rootfs: dir };
    const tmp = `${dir}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    const proc = Bun.spawn(["debootstrap", "--variant=minbase", `--include=${PACKAGES[flavour].join(",")}`, "bookworm", tmp], { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    if (code !== 0) return { rootfs: null, reason: `debootstrap failed (${code}): ${(err || out).trim().split("\n").slice(-3).join(" | ")}` };
    // CF's stack user: vcap, uid and gid 2000, home /home/vcap.
    Bun.spawnSync(["chroot", tmp, "sh", "-c", "groupadd -g 2000 vcap && useradd -u 2000 -g 2000 -m -d /home/vcap -s /bin/bash vcap && apt-get clean && rm -rf /var/lib/apt/lists/*"]);
    await Bun.write(join(tmp, ".complete"), new Date().toISOString());
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    return { rootfs: dir };
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
