/**
 * Container logs as the kubelet serves `GET /api/v1/namespaces/NS/pods/NAME/log`
 * (pkg/kubelet/kuberuntime/logs, CRI log files):
 * - each line is stored with the time it was written; `timestamps=true`
 *   prefixes it with that time in RFC3339Nano ("2026-01-02T03:04:05.123456789Z ");
 * - `sinceTime` (RFC3339, second precision on the wire) keeps lines written at
 *   or after it; `tailLines` keeps the last N;
 * - the log is the current container's: a restart starts a new log, and
 *   `previous=true` reads the one before;
 * - `follow=true` streams until the container terminates (the stream then
 *   ends, whatever the pod does next) or the client goes away.
 */
interface Line {
  ns: bigint;
  text: string;
}

interface ContainerLog {
  lines: Line[];
  partial: string;
  done: boolean;
  wake: Set<() => void>;
}

export interface LogQuery {
  follow: boolean;
  timestamps?: boolean;
  sinceTime?: string;
  tailLines?: number;
  previous?: boolean;
}

const nowNs = () => BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor((performance.now() % 1) * 1e6));

/** RFC3339Nano from nanoseconds since the epoch, as Go's time.Format(RFC3339Nano) writes it (trailing zeros dropped). */
export function rfc3339Nano(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const iso = new Date(ms).toISOString().slice(0, 19);
  const frac = String(ns % 1_000_000_000n).padStart(9, "0").replace(/0+$/, "");
  return `${iso}${frac ? `.${frac}` : ""}Z`;
}

export class PodLogs {
  private readonly pods = new Map<string, ContainerLog[]>();
  private last = 0n;

  private current(key: string): ContainerLog {
    let list = this.pods.get(key);
    if (!list) this.pods.set(key, (list = []));
    if (list.length === 0) list.push({ lines: [], partial: "", done: false, wake: new Set() });
    return list[list.length - 1]!;
  }

  private stamp(): bigint {
    let t = nowNs();
    if (t <= this.last) t = this.last + 1n;
    this.last = t;
    return t;
  }

  append(key: string, text: string): void {
    const c = this.current(key);
    const parts = (c.partial + text).split("\n");
    c.partial = parts.pop() ?? "";
    for (const p of parts) c.lines.push({ ns: this.stamp(), text: p });
    for (const w of c.wake) w();
  }

  /** The container terminated: its log ends (an unterminated last line is flushed). */
  terminate(key: string): void {
    const c = this.current(key);
    if (c.partial) c.lines.push({ ns: this.stamp(), text: c.partial });
    c.partial = "";
    c.done = true;
    for (const w of c.wake) w();
  }

  /** The kubelet restarted the container: a new, empty log. */
  restart(key: string): void {
    this.terminate(key);
    this.pods.get(key)!.push({ lines: [], partial: "", done: false, wake: new Set() });
  }

  forget(key: string): void {
    for (const c of this.pods.get(key) ?? []) {
      c.done = true;
      for (const w of c.wake) w();
    }
    this.pods.delete(key);
  }

  stream(key: string, q: LogQuery, alive: () => boolean, signal: AbortSignal): ReadableStream<Uint8Array> | null {
    const list = this.pods.get(key);
    const c = q.previous ? list?.[list.length - 2] : this.current(key);
    if (!c) return null;
    const since = q.sinceTime ? BigInt(Date.parse(q.sinceTime)) * 1_000_000n : 0n;
    let i = c.lines.findIndex((l) => l.ns >= since);
    if (i < 0) i = c.lines.length;
    if (q.tailLines !== undefined) i = Math.max(i, c.lines.length - q.tailLines);
    const enc = new TextEncoder();
    const follow = q.follow && !q.previous;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        for (;;) {
          if (i < c.lines.length) {
            const out = c.lines.slice(i).map((l) => `${q.timestamps ? `${rfc3339Nano(l.ns)} ` : ""}${l.text}\n`).join("");
            i = c.lines.length;
            controller.enqueue(enc.encode(out));
            return;
          }
          if (!follow || c.done || signal.aborted || !alive()) {
            controller.close();
            return;
          }
          await new Promise<void>((resolve) => {
            const wake = () => {
              c.wake.delete(wake);
              resolve();
            };
            c.wake.add(wake);
            signal.addEventListener("abort", wake, { once: true });
          });
        }
      },
    });
  }
}
