/**
 * A keyed, deduplicating work queue in the manner of client-go's: a key added
 * many times before it is processed is processed once; a key added while it is
 * being processed is processed again afterwards (never concurrently); failures
 * are retried per key with capped exponential backoff.
 */
export interface WorkQueueOptions {
  concurrency: number;
  /** Delay before retry number `attempt` (1-based). */
  backoff?: (attempt: number) => number;
  /** Called after a key's handler failed; the key is retried. */
  onError?: (key: string, err: unknown, attempt: number) => void;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

// Retry timers must not keep a stopping process alive.
const unrefTimer = (fn: () => void, ms: number) => setTimeout(fn, ms).unref();

export const defaultBackoff = (attempt: number) => Math.min(30_000, 50 * 2 ** (attempt - 1));

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly retryTimers = new Map<string, unknown>();
  private readonly idleWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly handler: (key: string) => Promise<void>,
    private readonly opts: WorkQueueOptions,
  ) {}

  /** Enqueue a key now (coalesced with a pending one; cancels a scheduled retry). */
  add(key: string): void {
    if (this.stopped) return;
    const timer = this.retryTimers.get(key);
    if (timer !== undefined) {
      (this.opts.clearTimer ?? clearTimeout)(timer as ReturnType<typeof setTimeout>);
      this.retryTimers.delete(key);
    }
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Keys waiting, running or scheduled for retry. */
  get size(): number {
    return this.queued.size + this.processing.size + this.retryTimers.size;
  }

  /** Resolves once nothing is queued or running (scheduled retries do not count). */
  idle(): Promise<void> {
    if (this.queued.size === 0 && this.processing.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.retryTimers.values()) (this.opts.clearTimer ?? clearTimeout)(t as ReturnType<typeof setTimeout>);
    this.retryTimers.clear();
    this.queue.length = 0;
    this.queued.clear();
  }

  private pump(): void {
    while (!this.stopped && this.processing.size < this.opts.concurrency && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.queued.delete(key);
      this.processing.add(key);
      void this.run(key);
    }
    if (this.queued.size === 0 && this.processing.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private async run(key: string): Promise<void> {
    try {
      await this.handler(key);
      this.failures.delete(key);
    } catch (err) {
      const attempt = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempt);
      this.opts.onError?.(key, err, attempt);
      if (!this.stopped && !this.dirty.has(key)) {
        const delay = (this.opts.backoff ?? defaultBackoff)(attempt);
        const handle = (this.opts.setTimer ?? unrefTimer)(() => {
          this.retryTimers.delete(key);
          this.add(key);
        }, delay);
        this.retryTimers.set(key, handle);
      }
    } finally {
      this.processing.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
