/**
 * At most `n` tasks at once, the rest wait in order. Container creation and
 * removal each spawn several programs (runc, CNI plugins, mount); a burst of
 * a hundred at once only thrashes the CPU, so they queue.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly n: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.n) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}
