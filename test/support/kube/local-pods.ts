import { spawn, type ChildProcess } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Obj } from "./object-store.ts";

/**
 * The kubelet's opt-in "run it for real" mode: a pod whose fate is
 * `run-locally` (by default: pods labelled `RUN_LOCALLY_LABEL: "true"`) has
 * its first container's command run on this machine as its own process
 * group, with the container's env. Each emptyDir volume becomes a temp dir;
 * a `workingDir` that is a volume's mountPath runs in that dir. Output
 * (stdout and stderr, merged as the container runtime does) becomes the pod
 * log. Limits are enforced as a node would: the group's RSS above
 * `limits.memory` -> SIGKILL and `OOMKilled` (137); the volumes' disk use
 * above `limits.ephemeral-storage` -> eviction. Deleting the pod kills the
 * group. The image is ignored: this machine is every image. With `netns`
 * (a network namespace the test made, `ip netns add`), pods run in it, so
 * they see the network a pod would: not the host's loopback.
 */
export const RUN_LOCALLY_LABEL = "emulator.eirini.test/run-locally";

export interface LocalPodCallbacks {
  output(text: string): void;
  /** The container ended (exit code, reason as the runtime reports it). */
  exited(exitCode: number, reason: string): void;
  evicted(message: string): void;
}

const UNITS: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12, "": 1 };

/** A Kubernetes quantity ("512Mi", "1G", "1048576") in bytes; NaN when it is not one. */
export function quantityBytes(q: unknown): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T|)$/.exec(String(q ?? ""));
  return m ? Number(m[1]) * UNITS[m[2]!]! : Number.NaN;
}

function groupRss(pgid: number): number {
  let pages = 0;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[2]) === pgid) pages += Number(f[21]) || 0;
    } catch {
      // The process exited meanwhile.
    }
  }
  return pages * 4096;
}

function diskUsage(dir: string): number {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    try {
      total += lstatSync(p).blocks * 512;
    } catch {
      continue;
    }
    if (e.isDirectory()) total += diskUsage(p);
  }
  return total;
}

interface Running {
  child: ChildProcess;
  dir: string;
  poll: ReturnType<typeof setInterval>;
  ended: boolean;
}

export class LocalPodRunner {
  private readonly running = new Map<string, Running>();
  private readonly root = mkdtempSync(join(tmpdir(), "kube-local-pods-"));

  constructor(
    private readonly pollMs = 50,
    private readonly netns?: string,
  ) {}

  start(key: string, pod: Obj, cb: LocalPodCallbacks): void {
    const c = pod.spec?.containers?.[0] ?? {};
    const argv = [...(c.command ?? []), ...(c.args ?? [])].map(String);
    if (argv.length === 0) return cb.exited(128, "StartError");
    const dir = mkdtempSync(join(this.root, "pod-"));
    const volumes = new Map<string, string>();
    for (const v of pod.spec?.volumes ?? []) {
      if (!v.emptyDir) continue;
      const d = join(dir, "volumes", v.name);
      mkdirSync(d, { recursive: true });
      volumes.set(v.name, d);
    }
    let cwd = join(dir, "rootfs");
    mkdirSync(cwd, { recursive: true });
    for (const m of c.volumeMounts ?? []) if (m.mountPath === c.workingDir && volumes.has(m.name)) cwd = volumes.get(m.name)!;
    const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin", HOSTNAME: pod.metadata.name };
    for (const e of c.env ?? []) if (typeof e.value === "string") env[e.name] = e.value;
    const memory = quantityBytes(c.resources?.limits?.memory);
    const disk = quantityBytes(c.resources?.limits?.["ephemeral-storage"]);

    if (this.netns) argv.unshift("ip", "netns", "exec", this.netns);
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const run: Running = { child, dir, ended: false, poll: setInterval(() => check(), this.pollMs) };
    this.running.set(key, run);
    let killedFor: "memory" | "disk" | null = null;
    const check = () => {
      if (run.ended || child.pid === undefined) return;
      if (memory > 0 && groupRss(child.pid) > memory) {
        killedFor = "memory";
        this.killGroup(child.pid);
      } else if (disk > 0 && [...volumes.values()].reduce((n, d) => n + diskUsage(d), 0) > disk) {
        killedFor = "disk";
        this.killGroup(child.pid);
      }
    };
    child.stdout!.on("data", (b: Buffer) => cb.output(b.toString("utf8")));
    child.stderr!.on("data", (b: Buffer) => cb.output(b.toString("utf8")));
    child.on("error", () => this.finish(key, () => cb.exited(128, "StartError")));
    // The container ends with its first process: whatever it left running dies with it.
    child.on("exit", () => child.pid !== undefined && this.killGroup(child.pid));
    child.on("close", (code, signal) => {
      this.finish(key, () => {
        if (killedFor === "disk") cb.evicted(`Pod ephemeral local storage usage exceeds the total limit of containers ${c.resources.limits["ephemeral-storage"]}.`);
        else if (killedFor === "memory") cb.exited(137, "OOMKilled");
        else cb.exited(code ?? 128 + (signal === "SIGKILL" ? 9 : 15), code === 0 ? "Completed" : "Error");
      });
    });
  }

  private killGroup(pgid: number): void {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }

  private finish(key: string, report: () => void): void {
    const run = this.running.get(key);
    if (!run || run.ended) return;
    run.ended = true;
    clearInterval(run.poll);
    if (run.child.pid !== undefined) this.killGroup(run.child.pid);
    this.running.delete(key);
    rmSync(run.dir, { recursive: true, force: true });
    report();
  }

  /** The pod is gone: its processes go too, nothing is reported. */
  kill(key: string): void {
    this.finish(key, () => {});
  }

  get count(): number {
    return this.running.size;
  }

  stop(): void {
    for (const key of [...this.running.keys()]) this.kill(key);
    rmSync(this.root, { recursive: true, force: true });
  }
}
