import { chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cgroupUsage, prepareCgroupParent, removeCgroupParent, type CgroupUsage } from "./cgroup.ts";
import { run } from "./exec.ts";
import { BridgeNetwork, bridgeNameFor } from "./network.ts";
import { Limiter } from "./limiter.ts";
import { isMounted, mountOverlay, unmount } from "./overlay.ts";
import { cpuSharesForMemory, runtimeConfig } from "./spec.ts";

/**
 * Runs containers with runc directly, the way Garden does for Diego: each
 * container is a runc bundle under `<stateDir>/containers/<id>` (config.json,
 * an overlay rootfs, its upper and work dirs), runc's own state under
 * `<stateDir>/runc`, and a network namespace on the appliance's bridge.
 * Containers are started detached (`runc run -d`): they are not children of
 * the appliance, so a `kill -9` of the appliance leaves them running and the
 * next start finds them here again.
 *
 * PID 1 of every container is a small shell init that forwards SIGTERM to
 * every other process of the container and records the exit status of the
 * main process in `/run/eirini/exit_status` (in the writable layer, read by
 * the appliance from the upper dir).
 */
export const VCAP_UID = 2000;
export const VCAP_GID = 2000;

const INIT = [
  "trap 'kill -TERM -1 2>/dev/null' TERM",
  "trap 'kill -INT -1 2>/dev/null' INT",
  '"$@" &',
  "child=$!",
  'while :; do wait "$child"; rc=$?; kill -0 "$child" 2>/dev/null || break; done',
  "printf '%s' \"$rc\" > /run/eirini/exit_status 2>/dev/null",
  'exit "$rc"',
].join("\n");

export interface ContainerHostOptions {
  /** Everything lives here: bundles, runc state, IPAM leases (e.g. `<dataDir>/opi-local/containers`). */
  stateDir: string;
  /** Bridge name; default derived from stateDir. */
  bridge?: string;
  runcPath?: string;
  cniPath?: string;
  /** Host TCP ports containers may reach (see NetworkConfig.openPorts). */
  openPorts?: () => number[];
}

export interface ContainerRequest {
  id: string;
  /** Read-only lower layers, topmost first (e.g. droplet layer, then the stack rootfs). */
  lowers: string[];
  /** argv of the main process (PID 1's child). */
  args: string[];
  /** The environment, or a function of the container's IP (known only once its network exists). */
  env: Record<string, string> | ((ip: string) => Record<string, string>);
  cwd: string;
  /** The process's user (default vcap, 2000:2000); docker images run as their own user. */
  user?: { uid: number; gid: number };
  /** Directories made in the writable layer, owned by vcap (e.g. /home/vcap/app when there is no droplet). */
  vcapDirs?: string[];
  memoryBytes: number;
  pidsLimit: number;
  cpuShares?: number;
  /** Give the container an address on the bridge (default true). */
  network?: boolean;
  /** Host directories bind-mounted read-write at the same or another path: container path -> host path. */
  binds?: Record<string, string>;
  /** Files the main process writes stdout/stderr to (opened for append by the appliance). */
  stdout: string;
  stderr: string;
}

export interface ContainerInfo {
  id: string;
  /** Host pid of the container's PID 1. */
  pid: number;
  /** Kernel start time of that pid (guards against pid reuse). */
  startTicks: string;
  /** Address on the bridge, or "" without a network. */
  ip: string;
  cgroupsPath: string;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Where the static init shell appears inside a container (bind-mounted read-only). */
const INIT_IN_CONTAINER = "/.eirini/busybox";

/**
 * A statically linked busybox on the host (Debian `busybox-static`) runs PID 1
 * whatever the root filesystem holds: docker images without a shell
 * (distroless, scratch) included. Without it, PID 1 is the rootfs's /bin/sh.
 */
function staticInit(): string | null {
  for (const p of ["/bin/busybox", "/usr/bin/busybox"]) {
    try {
      const head = readFileSync(p).subarray(0, 4096);
      // A static ELF has no program interpreter (no "ld-linux" path near the start).
      if (head[0] === 0x7f && !head.toString("latin1").includes("ld-linux") && !head.toString("latin1").includes("ld-musl")) return p;
    } catch {
      // not there
    }
  }
  return null;
}
const STATIC_INIT = staticInit();

export function startTicksOf(pid: number): string | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    if (rest[0] === "Z") return null;
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

export class ContainerHost {
  readonly network: BridgeNetwork;
  private readonly runcRoot: string;
  private readonly bundles: string;
  private readonly cgroupParent: string;
  private parentReady = false;

  constructor(private readonly opts: ContainerHostOptions) {
    const bridge = opts.bridge ?? bridgeNameFor(opts.stateDir);
    this.runcRoot = join(opts.stateDir, "runc");
    this.bundles = join(opts.stateDir, "bundles");
    for (const d of [this.runcRoot, this.bundles]) mkdirSync(d, { recursive: true });
    this.network = new BridgeNetwork({ stateDir: join(opts.stateDir, "net"), bridge, cniPath: opts.cniPath, openPorts: opts.openPorts });
    this.cgroupParent = `/eirini-${bridge}`;
  }

  private runc(...args: string[]): string[] {
    return [this.opts.runcPath ?? "runc", "--root", this.runcRoot, ...args];
  }

  dir(id: string): string {
    if (!ID.test(id)) throw new Error(`invalid container id ${JSON.stringify(id)}`);
    return join(this.bundles, id);
  }

  /** The writable layer of a container (host path), e.g. to measure its disk use. */
  upper(id: string): string {
    return join(this.dir(id), "upper");
  }

  private readonly creating = new Limiter(4);
  private readonly removing = new Limiter(4);

  /** Creates and starts a container (at most 4 at once); on failure nothing is left behind. */
  create(req: ContainerRequest): Promise<ContainerInfo> {
    return this.creating.run(() => this.createNow(req));
  }

  private async createNow(req: ContainerRequest): Promise<ContainerInfo> {
    const dir = this.dir(req.id);
    if (existsSync(dir) || existsSync(this.network.netnsPath(req.id))) await this.destroy(req.id);
    try {
      return await this.make(req, dir);
    } catch (err) {
      await this.destroy(req.id).catch(() => {});
      throw err;
    }
  }

  private async make(req: ContainerRequest, dir: string): Promise<ContainerInfo> {
    const rootfs = join(dir, "rootfs");
    const upper = join(dir, "upper");
    for (const d of [rootfs, upper, join(dir, "work"), join(upper, "run", "eirini")]) mkdirSync(d, { recursive: true });
    const user = req.user ?? { uid: VCAP_UID, gid: VCAP_GID };
    chownSync(join(upper, "run", "eirini"), user.uid, user.gid);
    for (const d of req.vcapDirs ?? []) {
      const parts = d.split("/").filter(Boolean);
      if (parts.includes("..")) throw new Error(`invalid directory ${d}`);
      let rel = "";
      for (const part of parts) {
        rel = join(rel, part);
        const p = join(upper, rel);
        if (existsSync(p)) continue;
        // An upper directory's owner and mode win over the layers below: copy them from the layer that has it.
        const below = req.lowers.map((l) => join(l, rel)).find((l) => existsSync(l));
        const st = below ? statSync(below) : undefined;
        mkdirSync(p, { mode: st ? st.mode & 0o7777 : 0o755 });
        chownSync(p, st?.uid ?? VCAP_UID, st?.gid ?? VCAP_GID);
      }
    }
    const cgroupsPath = `${this.cgroupParent}/${req.id}`;
    if (!this.parentReady) {
      prepareCgroupParent(this.cgroupParent);
      this.parentReady = true;
    }
    await mountOverlay(req.lowers, upper, join(dir, "work"), rootfs);
    const net = req.network === false ? undefined : await this.network.take();
    if (net) writeFileSync(join(dir, "net.json"), JSON.stringify({ id: net.id }));
    const hostname = req.id.slice(0, 63);
    writeFileSync(join(dir, "hosts"), `127.0.0.1 localhost\n::1 localhost\n${net ? `${net.ip} ${hostname}\n` : ""}`);
    const readOnlyFiles: Record<string, string> = { "/etc/hosts": join(dir, "hosts") };
    if (existsSync("/etc/resolv.conf")) readOnlyFiles["/etc/resolv.conf"] = "/etc/resolv.conf";
    const config = runtimeConfig({
      rootfs,
      hostname,
      args: STATIC_INIT ? [INIT_IN_CONTAINER, "sh", "-c", INIT, "init", ...req.args] : ["/bin/sh", "-c", INIT, "init", ...req.args],
      env: typeof req.env === "function" ? req.env(net?.ip ?? "") : req.env,
      cwd: req.cwd,
      uid: user.uid,
      gid: user.gid,
      netns: net?.netns,
      cgroupsPath,
      memoryBytes: req.memoryBytes,
      pidsLimit: req.pidsLimit,
      cpuShares: req.cpuShares ?? cpuSharesForMemory(req.memoryBytes / 1048576),
      readOnlyFiles,
      ...(STATIC_INIT ? { executables: { [INIT_IN_CONTAINER]: STATIC_INIT } } : {}),
      binds: req.binds,
    });
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    const out = openSync(req.stdout, "a");
    const err = openSync(req.stderr, "a");
    try {
      const res = await run(this.runc("--log", join(dir, "runc.log"), "run", "--detach", "--bundle", dir, "--pid-file", join(dir, "pid"), req.id), { stdio: { stdout: out, stderr: err }, allowFail: true });
      if (res.code !== 0) throw new Error(`runc run failed: ${runcLogTail(join(dir, "runc.log"))}`);
    } finally {
      closeSync(out);
      closeSync(err);
    }
    const pid = Number(readFileSync(join(dir, "pid"), "utf8").trim());
    const info: ContainerInfo = { id: req.id, pid, startTicks: startTicksOf(pid) ?? "", ip: net?.ip ?? "", cgroupsPath };
    writeFileSync(join(dir, "info.json"), JSON.stringify(info));
    return info;
  }

  /** What `create` recorded, for re-adoption after an appliance restart; null when unknown. */
  info(id: string): ContainerInfo | null {
    try {
      return JSON.parse(readFileSync(join(this.dir(id), "info.json"), "utf8")) as ContainerInfo;
    } catch {
      return null;
    }
  }

  /** True while the container's PID 1 is the process `create` started. */
  alive(info: Pick<ContainerInfo, "pid" | "startTicks">): boolean {
    const t = startTicksOf(info.pid);
    return t !== null && t === info.startTicks;
  }

  /** Signals PID 1 (SIGTERM is forwarded to every process; SIGKILL ends the whole PID namespace). */
  signal(info: Pick<ContainerInfo, "pid" | "startTicks">, sig: "SIGTERM" | "SIGKILL"): boolean {
    if (!this.alive(info)) return false;
    try {
      process.kill(info.pid, sig);
      return true;
    } catch {
      return false;
    }
  }

  usage(id: string): CgroupUsage | null {
    const info = this.info(id);
    return info ? cgroupUsage(info.cgroupsPath) : null;
  }

  /** How the main process ended: its exit status (if the init recorded it) and whether the OOM killer struck. */
  exitInfo(id: string): { code: number | null; oomKilled: boolean } {
    let code: number | null = null;
    try {
      const n = Number.parseInt(readFileSync(join(this.upper(id), "run", "eirini", "exit_status"), "utf8"), 10);
      if (Number.isFinite(n)) code = n;
    } catch {
      // Not recorded: PID 1 itself was killed.
    }
    const info = this.info(id);
    const usage = info ? cgroupUsage(info.cgroupsPath) : null;
    return { code, oomKilled: (usage?.oomKills ?? 0) > 0 };
  }

  /** Kills and removes a container with its cgroup, rootfs mount, network and files; fine when it is gone. */
  async destroy(id: string, background = false): Promise<void> {
    const dir = this.dir(id);
    let netId = id;
    try {
      netId = (JSON.parse(readFileSync(join(dir, "net.json"), "utf8")) as { id: string }).id;
    } catch {
      // no network recorded: a namespace named after the container, if any
    }
    await run(this.runc("delete", "--force", id), { allowFail: true, background });
    const rootfs = join(dir, "rootfs");
    if (existsSync(rootfs) && (await isMounted(rootfs))) await unmount(rootfs);
    if (netId !== id || existsSync(this.network.netnsPath(id))) await this.network.detach(netId, background);
    rmSync(dir, { recursive: true, force: true });
  }

  private readonly pending = new Set<Promise<void>>();

  /**
   * Removes an ended container without making the caller wait (its processes
   * are gone already; cgroup, mount and network are cleanup). Teardown waits for it.
   */
  destroyLater(id: string, onError?: (err: unknown) => void): void {
    const p = this.removing.run(() => this.destroy(id, true)).catch((err: unknown) => onError?.(err));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Ids of every container with a bundle here, and of network namespaces no container or warm pool holds. */
  list(): string[] {
    const ids = new Set<string>();
    const held = this.network.pooled();
    try {
      for (const n of readdirSync(this.bundles)) {
        ids.add(n);
        try {
          held.add((JSON.parse(readFileSync(join(this.bundles, n, "net.json"), "utf8")) as { id: string }).id);
        } catch {
          // no network
        }
      }
    } catch {
      // no bundles yet
    }
    for (const ns of this.network.namespaces()) if (!held.has(ns)) ids.add(ns);
    return [...ids].filter((id) => ID.test(id));
  }

  /** Removes the bridge and its rules once no container is left (a clean stop). */
  async teardownIfIdle(): Promise<boolean> {
    await Promise.all([...this.pending]);
    if (readdirSync(this.bundles).length > 0) return false;
    await this.network.teardown();
    removeCgroupParent(this.cgroupParent);
    this.parentReady = false;
    return true;
  }
}

function runcLogTail(file: string): string {
  try {
    const lines = readFileSync(file, "utf8").trim().split("\n").slice(-3);
    return lines.map((l) => {
      try {
        return (JSON.parse(l) as { msg?: string }).msg ?? l;
      } catch {
        return l;
      }
    }).join(" | ");
  } catch {
    return "(no runc log)";
  }
}

