import type { Logger } from "../log/index.ts";
import type { LRP, OpiEvent } from "../model/index.ts";
import type { OpiBackend } from "../opi/index.ts";
import { convergeProcess, type ConvergeAction } from "./converge.ts";
import type { DesiredStateSource } from "./source.ts";
import { WorkQueue, type WorkQueueOptions } from "./work-queue.ts";

export interface SinkOptions {
  source: DesiredStateSource;
  opi: OpiBackend;
  logger: Logger;
  /** Safety-net full pass period. */
  fullPassIntervalMs: number;
  concurrency: number;
  /** Turns a desired LRP into what the backend runs (e.g. droplet -> registry image). */
  prepare?: (lrp: LRP) => Promise<LRP>;
  /** Instance, crash and task events from OPI, passed on (to the Cloud Controller). */
  onEvent?: (event: OpiEvent) => void;
  queue?: Partial<WorkQueueOptions>;
}

export interface SinkStats {
  passes: number;
  converged: Record<ConvergeAction, number>;
  failures: number;
}

/**
 * The convergence loop: compares desired (source) with actual (OPI) by
 * process guid and last-updated stamp, and converges each differing process
 * through a keyed work queue. Nudges from the source enqueue just the changed
 * keys; a periodic full pass catches anything a nudge missed.
 */
export class Sink {
  readonly stats: SinkStats = { passes: 0, converged: { none: 0, desire: 0, update: 0, stop: 0 }, failures: 0 };
  private readonly queue: WorkQueue;
  private readonly prepare: (lrp: LRP) => Promise<LRP>;
  private timer: ReturnType<typeof setInterval> | undefined;
  private unsubscribe: (() => void)[] = [];
  private passing: Promise<number> | undefined;
  private rerun: Promise<number> | undefined;

  constructor(private readonly opts: SinkOptions) {
    this.prepare = opts.prepare ?? (async (lrp) => lrp);
    this.queue = new WorkQueue((key) => this.process(key), {
      concurrency: opts.concurrency,
      onError: (key, err, attempt) => {
        this.stats.failures++;
        opts.logger.warn("converge failed, will retry", { process_guid: key, attempt, error: err });
      },
      ...opts.queue,
    });
  }

  start(): void {
    this.unsubscribe.push(
      this.opts.source.onChange((keys) => {
        if (keys) for (const k of keys) this.queue.add(k);
        else void this.fullPass();
      }),
    );
    if (this.opts.onEvent) this.unsubscribe.push(this.opts.opi.subscribe(this.opts.onEvent));
    this.timer = setInterval(() => void this.fullPass(), this.opts.fullPassIntervalMs);
    this.timer.unref?.();
    void this.fullPass();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const u of this.unsubscribe.splice(0)) u();
    this.queue.stop();
  }

  /** Nudge one process (e.g. after a desired-state change). */
  nudge(processGuid: string): void {
    this.queue.add(processGuid);
  }

  /**
   * Compares the whole desired list with the backend's list and enqueues each
   * process whose stamp differs, is missing or is extra. Resolves to how many
   * were enqueued. A call made while a pass runs gets one more pass after it
   * (the running one may have read the desired state before the change);
   * any number of such calls share that one.
   */
  fullPass(): Promise<number> {
    if (!this.passing) {
      this.passing = this.diff().finally(() => (this.passing = undefined));
      return this.passing;
    }
    return (this.rerun ??= this.passing.then(() => {
      this.rerun = undefined;
      return this.fullPass();
    }));
  }

  /** Resolves when no convergence work is queued or running. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private async diff(): Promise<number> {
    try {
      const source = this.opts.source;
      const [desired, actual] = await Promise.all([source.desiredStamps ? source.desiredStamps() : source.desiredLRPs(), this.opts.opi.listLRPs()]);
      this.stats.passes++;
      const actualStamp = new Map<string, string>();
      for (const a of actual) actualStamp.set(a.desired_lrp_key.process_guid, a.annotation);
      let enqueued = 0;
      for (const d of desired) {
        const stamp = actualStamp.get(d.process_guid);
        actualStamp.delete(d.process_guid);
        if (stamp !== d.last_updated) {
          this.queue.add(d.process_guid);
          enqueued++;
        }
      }
      for (const extra of actualStamp.keys()) {
        this.queue.add(extra);
        enqueued++;
      }
      return enqueued;
    } catch (err) {
      this.opts.logger.warn("full pass failed; the next one retries", { error: err });
      return 0;
    }
  }

  private async process(key: string): Promise<void> {
    const desired = await this.opts.source.desiredLRP(key);
    const action = await convergeProcess(key, desired, this.opts.opi, this.prepare);
    this.stats.converged[action]++;
    if (action !== "none") this.opts.logger.debug("converged", { process_guid: key, action });
  }
}
