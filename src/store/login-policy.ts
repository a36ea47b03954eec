/**
 * What stands between a network and the password hashes:
 *
 * - Lockout, as UAA's default policy: 5 failed logins of one user within 5
 *   minutes lock that user for 5 minutes; while locked, even the right
 *   password is refused, and nothing is hashed.
 * - A bounded hash queue: each check costs CPU (bcrypt; older argon2 hashes ~64 MB), so
 *   at most `maxConcurrent` run at once, whatever the number of requests.
 * - Per-client fairness and a per-client cap: waiting checks are taken from
 *   the clients in turn, so a flood from one client delays another client's
 *   login by at most a round; a client with `maxQueuedPerClient` checks
 *   already waiting is refused at once (429) instead of queued.
 */
export interface LoginPolicyOptions {
  now?: () => number;
  maxFailures?: number;
  windowMs?: number;
  lockMs?: number;
  maxConcurrent?: number;
  maxQueuedPerClient?: number;
  /** Users and clients tracked at most (the oldest are forgotten first). */
  maxTracked?: number;
}

export class LoginRefused extends Error {
  override name = "LoginRefused";
  constructor(readonly reason: "locked" | "busy", message: string) {
    super(message);
  }
}

interface Failures {
  times: number[];
  lockedUntil: number;
}

interface Waiting {
  run: () => void;
}

export class LoginPolicy {
  private readonly now: () => number;
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly lockMs: number;
  private readonly maxConcurrent: number;
  private readonly maxQueuedPerClient: number;
  private readonly maxTracked: number;
  private readonly failures = new Map<string, Failures>();
  private readonly queues = new Map<string, Waiting[]>();
  private readonly inFlightByClient = new Map<string, number>();
  private running = 0;

  constructor(opts: LoginPolicyOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.maxFailures = opts.maxFailures ?? 5;
    this.windowMs = opts.windowMs ?? 5 * 60_000;
    this.lockMs = opts.lockMs ?? 5 * 60_000;
    this.maxConcurrent = opts.maxConcurrent ?? 2;
    this.maxQueuedPerClient = opts.maxQueuedPerClient ?? 8;
    this.maxTracked = opts.maxTracked ?? 10_000;
  }

  /** Milliseconds the user stays locked, 0 when not locked. */
  lockedFor(username: string): number {
    const f = this.failures.get(username);
    return f ? Math.max(0, f.lockedUntil - this.now()) : 0;
  }

  /** Throws LoginRefused("locked") for a locked user: call before any hashing. */
  assertNotLocked(username: string): void {
    const ms = this.lockedFor(username);
    if (ms > 0) throw new LoginRefused("locked", `Your account has been locked because of too many failed attempts to login (try again in ${Math.ceil(ms / 60_000)} minutes).`);
  }

  recordFailure(username: string): void {
    const t = this.now();
    let f = this.failures.get(username);
    if (!f) {
      if (this.failures.size >= this.maxTracked) this.failures.delete(this.failures.keys().next().value!);
      f = { times: [], lockedUntil: 0 };
      this.failures.set(username, f);
    }
    f.times = f.times.filter((x) => x > t - this.windowMs);
    f.times.push(t);
    if (f.times.length >= this.maxFailures) {
      f.lockedUntil = t + this.lockMs;
      f.times = [];
    }
  }

  recordSuccess(username: string): void {
    this.failures.delete(username);
  }

  /** Runs one password hash in the bounded, per-client-fair queue. */
  hash<T>(client: string, fn: () => Promise<T>): Promise<T> {
    const queue = this.queues.get(client) ?? [];
    if (queue.length >= this.maxQueuedPerClient) return Promise.reject(new LoginRefused("busy", "Too many login attempts from this client; try again shortly."));
    return new Promise<T>((resolve, reject) => {
      queue.push({
        run: () => {
          this.running++;
          this.inFlightByClient.set(client, (this.inFlightByClient.get(client) ?? 0) + 1);
          fn()
            .then(resolve, reject)
            .finally(() => {
              this.running--;
              const n = (this.inFlightByClient.get(client) ?? 1) - 1;
              if (n <= 0) this.inFlightByClient.delete(client);
              else this.inFlightByClient.set(client, n);
              this.dispatch();
            });
        },
      });
      if (!this.queues.has(client)) {
        if (this.queues.size >= this.maxTracked) return reject(new LoginRefused("busy", "Too many clients are logging in; try again shortly."));
        this.queues.set(client, queue);
      }
      this.dispatch();
    });
  }

  /** Starts waiting checks while slots are free, one client after another (Map order rotates by re-insertion). */
  private dispatch(): void {
    while (this.running < this.maxConcurrent && this.queues.size > 0) {
      // The client with the fewest checks running goes first, so one client never holds every slot.
      let pick: string | undefined;
      let least = Infinity;
      for (const client of this.queues.keys()) {
        const n = this.inFlightByClient.get(client) ?? 0;
        if (n < least) {
          least = n;
          pick = client;
        }
      }
      const queue = this.queues.get(pick!)!;
      const next = queue.shift()!;
      this.queues.delete(pick!);
      if (queue.length > 0) this.queues.set(pick!, queue); // to the back of the rotation
      next.run();
    }
  }
}
