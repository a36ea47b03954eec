import { run } from "./exec.ts";

/**
 * The container's root filesystem: an overlay of read-only lower layers
 * (first wins: e.g. the droplet layer, then the stack) and a writable upper
 * directory of its own, mounted in the appliance's mount namespace where runc
 * picks it up as the bundle's rootfs. The mount outlives the appliance, as
 * the container does.
 */
export async function mountOverlay(lowers: string[], upper: string, work: string, target: string): Promise<void> {
  for (const p of [...lowers, upper, work, target]) {
    if (/[,:\n]/.test(p)) throw new Error(`path not usable in overlay options: ${JSON.stringify(p)}`);
  }
  await run(["mount", "-t", "overlay", "overlay", "-o", `lowerdir=${lowers.join(":")},upperdir=${upper},workdir=${work}`, target]);
}

/** Lazily unmounts (the container may still hold it for an instant); fine when nothing is mounted. */
export async function unmount(target: string): Promise<void> {
  await run(["umount", "-l", target], { allowFail: true });
}

/** Whether `target` is a mount point now (after a crash, the overlay may still be there). */
export async function isMounted(target: string): Promise<boolean> {
  const text = await Bun.file("/proc/self/mountinfo").text();
  return text.split("\n").some((l) => l.split(" ")[4] === target);
}
