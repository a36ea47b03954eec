import type { Logger } from "../../log/index.ts";
import type { LogSink } from "../../model/index.ts";
import type { KubeClient } from "./client.ts";
import type { Informer } from "./informer.ts";
import { APP_CONTAINER } from "./keys.ts";
import { pullFailure } from "./instances.ts";
import type { PodRecord } from "./projections.ts";

/**
 * App and task output into the appliance's log store (log-cache), by
 * following each pod's log through the API server, as `kubectl logs -f`:
 * - `[APP/PROC/<TYPE>/<index>]` for an app pod (index from the pod
 *   ordinal), `[APP/TASK/<name>/0]` for a task pod;
 * - a follow ends when the container terminates; a restarted container is
 *   followed again from its start, a broken stream is resumed after a
 *   back-off with `sinceTime`; lines are asked for with `timestamps=true`
 *   and anything at or before the last line taken is skipped, so nothing is
 *   stored twice;
 * - after an appliance restart, pods that were already there are followed
 *   from that moment (their older lines were taken by the previous run);
 * - the pod log API merges stdout and stderr: every line is OUT;
 * - an image pull failure is told once per pod as a CELL line with the
 *   kubelet's message (Diego tells its cell's troubles the same way).
 */
export interface AppLogOptions {
  client: KubeClient;
  pods: Informer<PodRecord>;
  sink: LogSink;
  logger: Logger;
  /** Delay before resuming a broken stream (attempt 0, 1, ...). */
  retryMs?: (attempt: number) => number;
  now?: () => number;
  /** Longest line kept; longer ones are cut (log-cache's envelope limit is 64 KiB). */
  maxLine?: number;
}

interface Follow {
  uid: string;
  /** Nanoseconds of the last line taken. */
  lastNs: bigint;
  active: boolean;
  /** Restart count of a container whose log was read to its end: not read twice. */
  doneRestarts: number;
  attempt: number;
  timer?: ReturnType<typeof setTimeout>;
  abort: AbortController;
  toldPull: boolean;
}

const TS = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z /;

/** Nanoseconds since the epoch of an RFC3339Nano timestamp. */
export function parseNs(date: string, frac = ""): bigint {
  return BigInt(Date.parse(`${date}Z`)) * 1_000_000n + BigInt(frac.padEnd(9, "0") || "0");
}

/** RFC3339 with second precision (what `sinceTime` carries on the wire), rounded down. */
function sinceTime(ns: bigint): string {
  return new Date(Number(ns / 1_000_000_000n) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export class AppLogFollower {
  private readonly follows = new Map<string, Follow>();
  private readonly startNs: bigint;
  private stopped = false;
  private readonly maxLine: number;

  constructor(private readonly o: AppLogOptions) {
    this.startNs = BigInt(Math.floor((o.now ?? Date.now)())) * 1_000_000n;
    this.maxLine = o.maxLine ?? 60 * 1024;
    o.pods.on((type, rec) => {
      if (type === "deleted") return this.drop(rec.name, rec.uid);
      this.kick(rec);
    });
  }

  /** Pods being followed right now. */
  get following(): number {
    let n = 0;
    for (const f of this.follows.values()) if (f.active) n++;
    return n;
  }

  stop(): void {
    this.stopped = true;
    for (const name of [...this.follows.keys()]) this.drop(name);
  }

  private drop(name: string, uid?: string): void {
    const f = this.follows.get(name);
    if (!f || (uid && f.uid !== uid)) return;
    f.abort.abort();
    if (f.timer) clearTimeout(f.timer);
    this.follows.delete(name);
  }

  private tags(rec: PodRecord): { source_type: string; instance_id: string } | null {
    if (!rec.appGuid) return null;
    if (rec.taskGuid) return { source_type: `APP/TASK/${rec.taskName || rec.taskGuid}`, instance_id: "0" };
    if (rec.processGuid && rec.index >= 0) return { source_type: `APP/PROC/${(rec.processType || "web").toUpperCase()}`, instance_id: String(rec.index) };
    return null;
  }

  private kick(rec: PodRecord): void {
    if (this.stopped) return;
    const tags = this.tags(rec);
    if (!tags) return;
    let f = this.follows.get(rec.name);
    if (f && f.uid !== rec.uid) {
      this.drop(rec.name);
      f = undefined;
    }
    if (!f) {
      // A pod from before this appliance started: its earlier lines were taken by the previous run.
      const lastNs = BigInt(rec.createdAt) * 1_000_000_000n < this.startNs ? this.startNs : 0n;
      f = { uid: rec.uid, lastNs, active: false, doneRestarts: -1, attempt: 0, abort: new AbortController(), toldPull: false };
      this.follows.set(rec.name, f);
    }
    const pull = pullFailure(rec);
    if (pull && !f.toldPull && !rec.taskGuid) {
      f.toldPull = true;
      this.o.sink.append({ source_id: rec.appGuid, source_type: "CELL", instance_id: tags.instance_id, stream: "ERR", message: `Failed to pull the image for instance ${tags.instance_id}: ${pull}`, timestamp: BigInt(Date.now()) * 1_000_000n });
    }
    const started = rec.phase === "Running" || rec.phase === "Succeeded" || rec.phase === "Failed" || rec.exitCode !== null;
    if (!started || f.active || f.timer || f.doneRestarts === rec.restarts) return;
    this.follow(rec.name, f, tags, rec.appGuid);
  }

  private follow(name: string, f: Follow, tags: { source_type: string; instance_id: string }, appGuid: string): void {
    f.active = true;
    void this.read(name, f, tags, appGuid).then(
      () => {
        f.active = false;
        f.attempt = 0;
        const now = this.o.pods.get(name);
        if (this.follows.get(name) !== f || this.stopped || !now) return;
        // Read to its end: done with this container when it has terminated; the next one
        // (restarts + 1) is kicked by the pod's update. Ended while it seems to run: look again soon.
        if (now.exitCode !== null || now.phase === "Succeeded" || now.phase === "Failed") f.doneRestarts = now.restarts;
        else this.later(name, f);
      },
      (err: unknown) => {
        f.active = false;
        if (this.follows.get(name) !== f || this.stopped || f.abort.signal.aborted) return;
        if (f.attempt === 0) this.o.logger.debug("pod log stream broke; resuming", { pod: name, error: err });
        this.later(name, f);
      },
    );
  }

  private later(name: string, f: Follow): void {
    const delay = (this.o.retryMs ?? ((a) => Math.min(5_000, 250 * 2 ** a)))(f.attempt++);
    f.timer = setTimeout(() => {
      f.timer = undefined;
      const rec = this.o.pods.get(name);
      if (rec && this.follows.get(name) === f) this.kick(rec);
    }, delay);
    f.timer.unref?.();
  }

  /** One follow of the current container's log; true when it ended cleanly. */
  private async read(name: string, f: Follow, tags: { source_type: string; instance_id: string }, appGuid: string): Promise<boolean> {
    const stream = await this.o.client.podLog(name, { follow: true, container: APP_CONTAINER, timestamps: true, signal: f.abort.signal, ...(f.lastNs > 0n ? { sinceTime: sinceTime(f.lastNs) } : {}) });
    const decoder = new TextDecoder();
    let rest = "";
    const take = (line: string) => {
      const m = TS.exec(line);
      if (!m) return;
      const ns = parseNs(m[1]!, m[2]);
      if (ns <= f.lastNs) return;
      f.lastNs = ns;
      let message = line.slice(m[0].length);
      if (message.endsWith("\r")) message = message.slice(0, -1);
      if (message.length > this.maxLine) message = message.slice(0, this.maxLine);
      this.o.sink.append({ source_id: appGuid, source_type: tags.source_type, instance_id: tags.instance_id, stream: "OUT", message, timestamp: ns });
    };
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
      rest += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        take(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
      }
    }
    rest += decoder.decode();
    if (rest) take(rest);
    return true;
  }
}
