/**
 * Per-key serialization with deduplicated background work (client-go's work
 * queue, shaped for promises): `run(key, fn)` runs after whatever runs for
 * that key; `enqueue(key)` asks for one background pass of `worker(key)`,
 * merged with any pass already waiting; a failed pass is retried with
 * per-key exponential backoff until one succeeds or the key is dropped.
 * A global limit bounds concurrent work.
 */
export interface KeyedRunnerOptions {
  worker(key: string): Promise<void>;
  concurrency?: number;
  retryMs?: (attempt: number) => number;
  onError?: (key: string, err: unknown, attempt: number) => void;
}

export class KeyedRunner {
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly pending = new Set<string>();
  private readonly attempts = new Map<string, number>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private stopped = false;

  constructor(private readonly o: KeyedRunnerOptions) {}

  private async slot<T>(fn: () => Promise<T>): Promise<T> {
    const limit = this.o.concurrency ?? 32;
    if (this.active >= limit) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  /** Runs `fn` once everything already queued for `key` is done. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(
      () => this.slot(fn),
      () => this.slot(fn),
    );
    const tail = next.catch(() => {});
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  /** One background `worker(key)` pass (deduplicated while it waits), retried on failure. */
  enqueue(key: string): void {
    if (this.stopped || this.pending.has(key)) return;
    const timer = this.timers.get(key);
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(key);
    }
    this.pending.add(key);
    void this.run(key, async () => {
      this.pending.delete(key);
      if (this.stopped) return;
      await this.o.worker(key);
    }).then(
      () => this.attempts.delete(key),
      (err) => this.retryLater(key, err),
    );
  }

  /** Schedules a retry of `key` after a failure seen outside `enqueue`. */
  retryLater(key: string, err: unknown): void {
    if (this.stopped) return;
    const attempt = this.attempts.get(key) ?? 0;
    this.attempts.set(key, attempt + 1);
    this.o.onError?.(key, err, attempt);
    const delay = (this.o.retryMs ?? ((n) => Math.min(30_000, 500 * 2 ** n)))(attempt);
    if (this.timers.has(key)) return;
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.enqueue(key);
    }, delay);
    this.timers.set(key, t);
  }

  /** Forgets retries for a key (e.g. the process was stopped). */
  drop(key: string): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
    this.attempts.delete(key);
  }

  get retrying(): number {
    return this.timers.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.all([...this.tails.values()]);
  }
}
