import type { Logger } from "../../log/index.ts";
import type { Kind, KubeClient, Obj, WatchHandle } from "./client.ts";
import { KubeApiError } from "./errors.ts";

/**
 * A supervised list+watch cache of one kind (one per kind, shared by every
 * reader). Lists in pages, then watches from the list's resourceVersion; on
 * 410 Gone it forgets the version and relists; on any other failure it
 * reconnects with capped exponential backoff (1 s doubling to 30 s, reset
 * once it works again; the delay is injectable). It never gives up while
 * started: client-node's own informer stops on errors, this one owns its
 * restarts. It keeps a small projection of each object (`project`), not the
 * object, which is what keeps 30,000 pods in memory cheap.
 */
export type ChangeType = "added" | "modified" | "deleted";

export interface InformerOptions<T> {
  kind: Kind;
  client: KubeClient;
  logger: Logger;
  labelSelector?: string;
  fieldSelector?: string;
  /** The cached form of an object (null: do not cache it). */
  project(obj: Obj): T | null;
  pageSize?: number;
  /** Delay before reconnect attempt `n` (0-based). */
  backoffMs?: (attempt: number) => number;
  /** Server-side watch timeout, so silently dead connections are replaced. */
  watchTimeoutSeconds?: number;
}

export interface Cached {
  name: string;
  rv: string;
}

export const defaultBackoff = (attempt: number): number => Math.min(30_000, 1000 * 2 ** attempt);

/** True when `a` is a later resourceVersion than `b` (integers as etcd issues them; otherwise assume later). */
export function newerVersion(a: string, b: string): boolean {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) > BigInt(b);
  return a !== b;
}

export class Informer<T extends Cached> {
  readonly cache = new Map<string, T>();
  private rv = "";
  private listeners: ((type: ChangeType, item: T, old: T | undefined) => void)[] = [];
  private errorListeners: ((err: Error) => void)[] = [];
  private syncListeners: (() => void)[] = [];
  private started = false;
  private handle: WatchHandle | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private synced = false;
  /** Names we deleted ourselves, with the highest version seen then: older watch events must not resurrect them. */
  private readonly tombstones = new Map<string, string>();
  private maxRv = "0";
  lastError: Error | undefined;
  relists = 0;

  constructor(private readonly o: InformerOptions<T>) {}

  get hasSynced(): boolean {
    return this.synced;
  }

  on(fn: (type: ChangeType, item: T, old: T | undefined) => void): void {
    this.listeners.push(fn);
  }
  onError(fn: (err: Error) => void): void {
    this.errorListeners.push(fn);
  }
  /** Called after every successful (re)list. */
  onSync(fn: () => void): void {
    this.syncListeners.push(fn);
  }

  whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncListeners.push(() => resolve()));
  }

  get(name: string): T | undefined {
    return this.cache.get(name);
  }

  private emit(type: ChangeType, item: T, old: T | undefined): void {
    for (const fn of this.listeners) {
      try {
        fn(type, item, old);
      } catch (err) {
        this.o.logger.error("informer listener failed", { kind: this.o.kind, error: err });
      }
    }
  }

  private trackRv(rv: string): void {
    if (rv && newerVersion(rv, this.maxRv)) this.maxRv = rv;
  }

  /** Applies an object we read or wrote ourselves (write-through), unless the cache already has a newer version. */
  observe(obj: Obj): void {
    const item = this.o.project(obj);
    const name = obj?.metadata?.name as string | undefined;
    if (!name) return;
    const rv = String(obj.metadata.resourceVersion ?? "");
    this.trackRv(rv);
    const tomb = this.tombstones.get(name);
    if (tomb !== undefined) {
      if (!newerVersion(rv, tomb)) return;
      this.tombstones.delete(name);
    }
    const old = this.cache.get(name);
    if (!item) {
      if (old) {
        this.cache.delete(name);
        this.emit("deleted", old, old);
      }
      return;
    }
    if (old && (old.rv === item.rv || !newerVersion(item.rv, old.rv))) return;
    this.cache.set(name, item);
    this.emit(old ? "modified" : "added", item, old);
  }

  /** We deleted `name`: drop it now instead of waiting for the watch. */
  forget(name: string): void {
    const old = this.cache.get(name);
    this.tombstones.set(name, this.maxRv);
    if (old) {
      this.cache.delete(name);
      this.emit("deleted", old, old);
    }
  }

  private removed(obj: Obj): void {
    const name = obj?.metadata?.name as string | undefined;
    if (!name) return;
    this.trackRv(String(obj.metadata.resourceVersion ?? ""));
    this.tombstones.delete(name);
    const old = this.cache.get(name);
    if (!old) return;
    this.cache.delete(name);
    this.emit("deleted", old, old);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.handle?.abort();
    this.wake?.();
    await this.loop;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private async relist(): Promise<void> {
    const seen = new Set<string>();
    let cont: string | undefined;
    let rv = "";
    do {
      const page = await this.o.client.list(this.o.kind, { labelSelector: this.o.labelSelector, fieldSelector: this.o.fieldSelector, limit: this.o.pageSize ?? 500, continue: cont });
      rv = page.resourceVersion;
      for (const obj of page.items) {
        const name = obj?.metadata?.name as string;
        seen.add(name);
        this.tombstones.delete(name);
        const item = this.o.project(obj);
        const old = this.cache.get(name);
        if (!item) continue;
        this.trackRv(item.rv);
        if (old && old.rv === item.rv) continue;
        this.cache.set(name, item);
        this.emit(old ? "modified" : "added", item, old);
      }
      cont = page.continue;
      if (!this.started) return;
    } while (cont);
    for (const [name, old] of [...this.cache]) {
      if (!seen.has(name)) {
        this.cache.delete(name);
        this.emit("deleted", old, old);
      }
    }
    this.rv = rv;
    this.trackRv(rv);
    this.relists++;
    this.synced = true;
    this.lastError = undefined;
    for (const fn of this.syncListeners.splice(0)) fn();
  }

  private watchOnce(): Promise<{ expired: boolean; events: number; error: unknown }> {
    return new Promise((resolve) => {
      let expired = false;
      let events = 0;
      let error: unknown = null;
      const timeoutSeconds = this.o.watchTimeoutSeconds ?? 240 + Math.floor(Math.random() * 60);
      this.o.client
        .watch(
          this.o.kind,
          { labelSelector: this.o.labelSelector, fieldSelector: this.o.fieldSelector, resourceVersion: this.rv, timeoutSeconds },
          (type, obj) => {
            if (!this.started) return;
            if (type === "ERROR") {
              if (obj?.code === 410) expired = true;
              else error = new KubeApiError(`watch ${this.o.kind}: ${obj?.message ?? "error event"}`, Number(obj?.code ?? 500), String(obj?.reason ?? ""), "watch", this.o.kind);
              return;
            }
            events++;
            const rv = obj?.metadata?.resourceVersion;
            if (type === "DELETED") this.removed(obj);
            else if (type === "ADDED" || type === "MODIFIED") this.observe(obj);
            if (rv) this.rv = String(rv);
          },
          (err) => resolve({ expired: expired || (err instanceof KubeApiError && err.gone), events, error: expired ? null : (err ?? error) }),
        )
        .then((h) => {
          this.handle = h;
          if (!this.started) h.abort();
        });
    });
  }

  private async run(): Promise<void> {
    let attempt = 0;
    const backoff = this.o.backoffMs ?? defaultBackoff;
    while (this.started) {
      try {
        if (!this.rv) {
          await this.relist();
          attempt = 0;
        }
        if (!this.started) break;
        const began = Date.now();
        const r = await this.watchOnce();
        this.handle = undefined;
        if (!this.started) break;
        if (r.expired) {
          this.o.logger.debug("watch expired; relisting", { kind: this.o.kind });
          this.rv = "";
          continue;
        }
        if (r.error) throw r.error;
        if (r.events > 0 || Date.now() - began > 1000) attempt = 0;
        else await this.sleep(backoff(attempt++));
      } catch (err) {
        if (!this.started) break;
        const e = err instanceof Error ? err : new Error(String(err));
        if (e instanceof KubeApiError && e.gone) this.rv = "";
        this.lastError = e;
        for (const fn of this.errorListeners) fn(e);
        await this.sleep(backoff(attempt++));
      }
    }
  }
}
