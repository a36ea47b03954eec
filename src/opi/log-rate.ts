/**
 * CF's per-instance log rate limit (`log_rate_limit_in_bytes_per_second`):
 * a token bucket of `limit` bytes refilled at `limit` bytes per second,
 * shared by an instance's stdout and stderr. A line that does not fit is
 * dropped; the first drop in each second adds one line saying so, in CF's
 * words, so a flood shows up in `cf logs` as one notice per second.
 */
export class LogRateLimiter {
  private tokens: number;
  private last: number;
  private noticedSecond = -1;

  constructor(
    readonly limit: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = limit;
    this.last = now();
  }

  /** "pass" to store the line, "drop" to discard it, "notice" to discard it and store CF's notice instead. */
  admit(bytes: number): "pass" | "drop" | "notice" {
    const t = this.now();
    this.tokens = Math.min(this.limit, this.tokens + ((t - this.last) * this.limit) / 1000);
    this.last = t;
    if (bytes <= this.tokens) {
      this.tokens -= bytes;
      return "pass";
    }
    const second = Math.floor(t / 1000);
    if (second === this.noticedSecond) return "drop";
    this.noticedSecond = second;
    return "notice";
  }

  get notice(): string {
    return `app instance exceeded log rate limit (${this.limit} bytes/sec)`;
  }
}

/** A limiter for a run's limit, or none when unlimited (-1 or absent). */
export function logRateLimiter(limit: number | undefined, now?: () => number): LogRateLimiter | undefined {
  return limit !== undefined && limit >= 0 ? new LogRateLimiter(limit, now) : undefined;
}
