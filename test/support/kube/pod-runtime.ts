import type { Subprocess } from "bun";
import { chmodSync, chownSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Containerd } from "../containerd.ts";
import type { Obj } from "./object-store.ts";

/**
 * Runs a pod spec our backend produced with the real runtime parts, the way
 * a kubelet would hand it to them: a test of our objects, not a kubelet.
 *
 * - the image is pulled by containerd (`ctr images pull`, HEAD + Content-Length
 *   as a kubelet's CRI pull), with the credentials of the pod's
 *   imagePullSecrets (a `kubernetes.io/dockerconfigjson` Secret), or none;
 * - the container runs under runc through containerd (`ctr run --config`)
 *   with an OCI spec made from the pod spec: Kubernetes semantics for
 *   command/args over the image's Entrypoint/Cmd, env (image env, then the
 *   container's, with `$(VAR)` expansion and downward-API fieldRefs),
 *   workingDir, runAsUser/runAsGroup (+ fsGroup as a supplementary group),
 *   no capabilities, no_new_privs, the memory limit;
 * - each emptyDir is a fresh directory owned by root with mode 0777, bind
 *   mounted where the pod mounts it (what the kubelet makes);
 * - the pod's network is a network namespace the test made (`--with-ns`
 *   equivalent in the spec): the pod IP is its address there.
 */
export interface PodRuntimeOptions {
  containerd: Containerd;
  /** Network namespace name (under /var/run/netns) and the pod's address in it. */
  netns: { name: string; podIp: string; hostIp: string };
  /** Secrets of the pod's namespace, for imagePullSecrets. */
  secret(name: string): Obj | undefined;
  workDir: string;
}

export interface RuntimePod {
  id: string;
  /** Everything the container wrote (stdout and stderr, merged as a pod log). */
  output(): string;
  onOutput(fn: (text: string) => void): void;
  /** Resolves to the container's exit status. */
  exited: Promise<number>;
  /** `ctr task kill -s <signal>`: what the kubelet sends on delete (SIGTERM, then SIGKILL). */
  kill(signal?: string): Promise<void>;
  remove(): Promise<void>;
}

function credentialsFor(pod: Obj, image: string, secret: (n: string) => Obj | undefined): string | undefined {
  const host = image.split("/")[0]!;
  for (const ref of pod.spec?.imagePullSecrets ?? []) {
    const s = secret(ref.name);
    const raw = s?.data?.[".dockerconfigjson"];
    if (!raw) continue;
    const auth = JSON.parse(Buffer.from(raw, "base64").toString()).auths?.[host];
    if (auth?.username) return `${auth.username}:${auth.password}`;
    if (auth?.auth) return Buffer.from(auth.auth, "base64").toString();
  }
  return undefined;
}

/** Kubernetes `$(VAR)` expansion against the variables defined so far; `$$(` is a literal `$(`. */
function expand(value: string, env: Map<string, string>): string {
  return value.replace(/\$\$\(|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)/g, (m, name?: string) => (m === "$$(" ? "$(" : env.has(name!) ? env.get(name!)! : m));
}

function fieldRef(pod: Obj, path: string, o: PodRuntimeOptions): string {
  switch (path) {
    case "metadata.name":
      return pod.metadata.name;
    case "metadata.namespace":
      return pod.metadata.namespace ?? "";
    case "metadata.uid":
      return pod.metadata.uid ?? "";
    case "status.podIP":
      return o.netns.podIp;
    case "status.hostIP":
      return o.netns.hostIp;
    case "spec.nodeName":
      return pod.spec?.nodeName ?? "node";
    default:
      return "";
  }
}

async function imageConfig(c: Containerd, ref: string): Promise<Obj> {
  const ls = await c.ctr(["images", "ls", `name==${ref}`]);
  const digest = /sha256:[a-f0-9]{64}/.exec(ls.stdout)?.[0];
  if (!digest) throw new Error(`image ${ref} not found after pull: ${ls.stdout}${ls.stderr}`);
  const manifest = JSON.parse((await c.ctr(["content", "get", digest])).stdout);
  return JSON.parse((await c.ctr(["content", "get", manifest.config.digest])).stdout).config ?? {};
}

/** Pulls the first container's image as the kubelet would (the pod's pull secret, or anonymously). */
export async function pullImage(o: PodRuntimeOptions, pod: Obj): Promise<{ ref: string; user?: string }> {
  const ref = String(pod.spec.containers[0].image);
  const user = credentialsFor(pod, ref, o.secret);
  const r = await o.containerd.ctr(["images", "pull", "--plain-http", ...(user ? ["--user", user] : []), ref]);
  if (r.code !== 0) throw new Error(`ctr images pull ${ref}: ${r.stderr.trim()}`);
  return { ref, user };
}

export async function runPod(o: PodRuntimeOptions, pod: Obj): Promise<RuntimePod> {
  const c = pod.spec.containers[0];
  const { ref } = await pullImage(o, pod);
  const cfg = await imageConfig(o.containerd, ref);
  const id = `${pod.metadata.name}-${crypto.randomUUID().slice(0, 6)}`.slice(0, 60);
  const dir = join(o.workDir, id);
  const rootfs = join(dir, "rootfs");
  mkdirSync(rootfs, { recursive: true });
  const mounted = await o.containerd.ctr(["images", "mount", "--rw", ref, rootfs]);
  if (mounted.code !== 0) throw new Error(`ctr images mount ${ref}: ${mounted.stderr.trim()}`);

  // Env: the image's, then the container's in order ($(VAR) sees what came before).
  const env = new Map<string, string>();
  for (const e of (cfg.Env ?? []) as string[]) {
    const i = e.indexOf("=");
    env.set(e.slice(0, i), e.slice(i + 1));
  }
  for (const e of c.env ?? []) {
    const v = e.valueFrom?.fieldRef ? fieldRef(pod, e.valueFrom.fieldRef.fieldPath, o) : expand(String(e.value ?? ""), env);
    env.set(e.name, v);
  }
  // command replaces the Entrypoint, args the Cmd (k8s semantics).
  const entry = c.command ?? cfg.Entrypoint ?? [];
  const args = c.args ?? (c.command ? [] : (cfg.Cmd ?? []));
  const argv = [...entry, ...args].map((a: string) => expand(String(a), env));
  const sc = { ...pod.spec.securityContext, ...c.securityContext };
  const uid = Number(sc.runAsUser ?? cfg.User ?? 0);
  const gid = Number(sc.runAsGroup ?? uid);
  const mounts: Obj[] = [];
  for (const m of c.volumeMounts ?? []) {
    const v = (pod.spec.volumes ?? []).find((x: Obj) => x.name === m.name);
    if (!v?.emptyDir) throw new Error(`volume ${m.name}: only emptyDir is supported here`);
    const src = join(dir, "volumes", m.name);
    mkdirSync(src, { recursive: true });
    // What the kubelet makes for an emptyDir: root's, 0777.
    chownSync(src, 0, 0);
    chmodSync(src, 0o777);
    mounts.push({ destination: m.mountPath, type: "bind", source: src, options: ["rbind", m.readOnly ? "ro" : "rw"] });
  }
  const base = JSON.parse((await o.containerd.ctr(["oci", "spec"])).stdout);
  const memory = quantity(c.resources?.limits?.memory);
  const spec = {
    ...base,
    root: { path: rootfs, readonly: false },
    hostname: pod.metadata.name,
    process: {
      ...base.process,
      terminal: false,
      user: { uid, gid, ...(sc.fsGroup !== undefined || pod.spec.securityContext?.fsGroup !== undefined ? { additionalGids: [Number(pod.spec.securityContext?.fsGroup ?? sc.fsGroup)] } : {}) },
      args: argv,
      env: [...env].map(([k, v]) => `${k}=${v}`),
      cwd: c.workingDir ?? cfg.WorkingDir ?? "/",
      // drop: ["ALL"] and allowPrivilegeEscalation: false.
      capabilities: { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] },
      noNewPrivileges: true,
    },
    mounts: [...base.mounts, ...mounts],
    linux: {
      ...base.linux,
      namespaces: base.linux.namespaces.map((n: Obj) => (n.type === "network" ? { type: "network", path: `/var/run/netns/${o.netns.name}` } : n)),
      resources: { ...base.linux.resources, ...(memory > 0 ? { memory: { limit: memory } } : {}) },
      cgroupsPath: `/eirini-test/${id}`,
    },
  };
  const specPath = join(dir, "spec.json");
  writeFileSync(specPath, JSON.stringify(spec));
  const proc: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn(["ctr", "--address", o.containerd.address, "--namespace", o.containerd.namespace, "run", "--config", specPath, id], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  const listeners: ((t: string) => void)[] = [];
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) {
      const t = dec.decode(chunk, { stream: true });
      out += t;
      for (const l of listeners) l(t);
    }
  };
  const pumped = Promise.all([pump(proc.stdout), pump(proc.stderr)]);
  const exited = proc.exited.then(async (code) => {
    await pumped;
    return code;
  });
  return {
    id,
    output: () => out,
    onOutput: (fn) => void listeners.push(fn),
    exited,
    async kill(signal = "SIGTERM") {
      await o.containerd.ctr(["tasks", "kill", "-s", signal, id]);
    },
    async remove() {
      if (proc.exitCode === null) {
        await o.containerd.ctr(["tasks", "kill", "-s", "SIGKILL", id]);
        await Promise.race([exited, Bun.sleep(5_000)]);
      }
      await o.containerd.ctr(["tasks", "delete", "-f", id]);
      await o.containerd.ctr(["containers", "delete", id]);
      await o.containerd.ctr(["images", "unmount", "--rm", rootfs]);
    },
  };
}

const UNITS: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1e3, M: 1e6, G: 1e9, "": 1 };
function quantity(q: unknown): number {
  const m = /^(\d+)(Ki|Mi|Gi|k|M|G|)$/.exec(String(q ?? ""));
  return m ? Number(m[1]) * UNITS[m[2]!]! : 0;
}
