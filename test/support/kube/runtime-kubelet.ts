import type { Containerd } from "../containerd.ts";
import { createNetns, type Netns } from "../netns.ts";
import type { KubeEmulator } from "./index.ts";
import type { Obj } from "./object-store.ts";
import { runPod, type RuntimePod } from "./pod-runtime.ts";

/**
 * Bridges the emulator's pods to the real runtime, for tests: every pod the
 * emulator holds (the backend's StatefulSet and Job pods, as its
 * controllers made them from our templates) is run by `runPod` (containerd
 * + runc) in a network namespace of its own, and what happens is reported
 * back as pod status, the way a kubelet's status sync would: Running when
 * the container started, Ready when its port answers, the exit as
 * terminated, its output as the pod log. A pod deleted in the emulator
 * gets SIGTERM, then SIGKILL after its grace period. This is a harness for
 * our objects, not a kubelet: one container per pod, no restarts, no probes
 * beyond "the port answers".
 *
 * The emulator's own simulated kubelet must leave these pods alone
 * (`sim.behavior = () => ({ kind: "pending" })`).
 */
export interface RuntimeKubeletOptions {
  kube: KubeEmulator;
  namespace: string;
  containerd: Containerd;
  workDir: string;
  /** Which pods to run (default: all). */
  select?: (pod: Obj) => boolean;
  pollMs?: number;
}

export interface RunningPod {
  name: string;
  uid: string;
  netns: Netns;
  pod: RuntimePod;
  /** Set when the emulator deleted the pod: when we sent SIGTERM, and when the container was gone. */
  termination?: { signalledAt: number; exitedAt?: number; exitCode?: number };
  error?: string;
}

export class RuntimeKubelet {
  readonly pods = new Map<string, RunningPod>();
  readonly failures: string[] = [];
  private readonly seen = new Set<string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly o: RuntimeKubeletOptions) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.o.pollMs ?? 50);
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private tick(): void {
    const { kube, namespace: ns } = this.o;
    const live = new Map<string, Obj>();
    for (const pod of kube.list("pods", ns)) {
      if (this.o.select && !this.o.select(pod)) continue;
      live.set(pod.metadata.uid, pod);
      if (this.seen.has(pod.metadata.uid) || pod.metadata.deletionTimestamp) continue;
      this.seen.add(pod.metadata.uid);
      this.track(this.launch(pod));
    }
    for (const r of this.pods.values()) {
      if (r.termination || live.get(r.uid)) continue;
      // Deleted in the emulator: what the kubelet does on delete.
      r.termination = { signalledAt: performance.now() };
      this.track(this.terminate(r));
    }
  }

  private async launch(pod: Obj): Promise<void> {
    const { kube, namespace: ns } = this.o;
    const name = pod.metadata.name;
    const netns = createNetns();
    if ("skip" in netns) {
      this.failures.push(`${name}: ${netns.skip}`);
      return;
    }
    let run: RuntimePod;
    try {
      run = await runPod({ containerd: this.o.containerd, netns, secret: (n) => kube.get("secrets", ns, n), workDir: this.o.workDir }, pod);
    } catch (err) {
      netns.remove();
      this.failures.push(`${name}: ${(err as Error).message}`);
      // The kubelet's word for an image it cannot get.
      kube.sim.imagePullError(ns, name, (err as Error).message);
      return;
    }
    const rec: RunningPod = { name, uid: pod.metadata.uid, netns, pod: run };
    this.pods.set(name, rec);
    run.onOutput((t) => kube.sim.appendLog(ns, name, t));
    const isJob = !!pod.metadata.labels?.["job-name"];
    const port = pod.spec.containers[0].ports?.[0]?.containerPort as number | undefined;
    kube.sim.run(ns, name, isJob || !port);
    this.setIp(name, netns.podIp);
    if (!isJob && port) {
      kube.setPodEndpoint(name, `http://${netns.podIp}:${port}`);
      this.track(this.readyWhenAnswering(rec, port));
    }
    this.track(
      run.exited.then((code) => {
        if (rec.termination) {
          rec.termination.exitedAt = performance.now();
          rec.termination.exitCode = code;
          return;
        }
        if (isJob) kube.sim.exit(ns, name, code);
        else kube.sim.crash(ns, name, { exitCode: code });
      }),
    );
  }

  private setIp(name: string, ip: string): void {
    const { kube, namespace: ns } = this.o;
    const cur = kube.get("pods", ns, name);
    if (!cur) return;
    kube.replace("pods", ns, name, { ...cur, status: { ...cur.status, podIP: ip, podIPs: [{ ip }] } });
  }

  private async readyWhenAnswering(rec: RunningPod, port: number): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !rec.termination) {
      try {
        await fetch(`http://${rec.netns.podIp}:${port}/`, { signal: AbortSignal.timeout(1000) });
        this.o.kube.sim.run(this.o.namespace, rec.name, true);
        this.setIp(rec.name, rec.netns.podIp);
        return;
      } catch {
        await Bun.sleep(25);
      }
    }
  }

  private async terminate(r: RunningPod): Promise<void> {
    await r.pod.kill("SIGTERM");
    const grace = Promise.race([r.pod.exited.then(() => true), Bun.sleep(30_000).then(() => false)]);
    if (!(await grace)) await r.pod.kill("SIGKILL");
    await r.pod.exited;
    r.termination!.exitedAt ??= performance.now();
    await r.pod.remove();
    r.netns.remove();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const r of this.pods.values()) {
      if (r.termination) continue;
      r.termination = { signalledAt: performance.now() };
      await r.pod.remove().catch(() => {});
      r.netns.remove();
    }
    await Promise.race([Promise.allSettled([...this.pending]), Bun.sleep(35_000)]);
  }
}
