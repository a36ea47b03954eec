import type { ResourceInfo } from "./resources.ts";
import { alreadyExists, conflict, expired, notFound } from "./status.ts";

/**
 * The emulator's etcd: objects per resource, one global resourceVersion
 * counter bumped on every write, a bounded event history for watches (a
 * watch from a version older than the history gets 410 Expired, like a
 * compacted etcd), and live watchers.
 */
export type Obj = Record<string, any>;
export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoredEvent {
  rv: number;
  resource: string;
  namespace: string;
  type: EventType;
  object: Obj;
}

export interface Watcher {
  resource: string;
  namespace: string | undefined;
  filter: (obj: Obj) => boolean;
  send(type: EventType | "ERROR", object: Obj): void;
  close(): void;
}

const key = (ns: string, name: string) => `${ns}/${name}`;

export class ObjectStore {
  private rv = 1000;
  private readonly objects = new Map<string, Map<string, Obj>>();
  private readonly history: StoredEvent[] = [];
  private historyStart = 0;
  /** Versions at or below this are gone from the history (compacted). */
  private compactedRv = 1000;
  readonly watchers = new Set<Watcher>();
  private readonly listeners: ((e: StoredEvent) => void)[] = [];
  private uidCounter = 0;
  /** owner uid -> dependents ("resource ns/name"), so GC does not scan everything. */
  private readonly owners = new Map<string, Set<string>>();
  private readonly uids = new Set<string>();

  constructor(private historyLimit = 10_000) {}

  get resourceVersion(): number {
    return this.rv;
  }

  /** Called synchronously after every write (controllers hook in here). */
  onChange(fn: (e: StoredEvent) => void): void {
    this.listeners.push(fn);
  }

  private bucket(resource: string): Map<string, Obj> {
    let b = this.objects.get(resource);
    if (!b) this.objects.set(resource, (b = new Map()));
    return b;
  }

  get(info: ResourceInfo, ns: string, name: string): Obj | undefined {
    return this.bucket(info.resource).get(key(ns, name));
  }

  mustGet(info: ResourceInfo, ns: string, name: string): Obj {
    const o = this.get(info, ns, name);
    if (!o) throw notFound(info, name);
    return o;
  }

  /** Objects of a resource, optionally in one namespace, sorted by namespace/name like etcd keys. */
  list(info: ResourceInfo, ns?: string): Obj[] {
    const out: Obj[] = [];
    for (const [k, o] of this.bucket(info.resource)) if (ns === undefined || k.startsWith(ns + "/")) out.push(o);
    return out;
  }

  private readonly sortedKeys = new Map<string, string[]>();

  /** Keys of a resource in etcd order (sorted), cached until the next create or delete. */
  keysInOrder(info: ResourceInfo): string[] {
    let keys = this.sortedKeys.get(info.resource);
    if (!keys) this.sortedKeys.set(info.resource, (keys = [...this.bucket(info.resource).keys()].sort()));
    return keys;
  }

  byKey(info: ResourceInfo, k: string): Obj | undefined {
    return this.bucket(info.resource).get(k);
  }

  count(resource: string): number {
    return this.objects.get(resource)?.size ?? 0;
  }

  private index(resource: string, ns: string, o: Obj, add: boolean): void {
    const ref = `${resource} ${key(ns, o.metadata.name)}`;
    for (const r of o.metadata.ownerReferences ?? []) {
      let s = this.owners.get(r.uid);
      if (add) {
        if (!s) this.owners.set(r.uid, (s = new Set()));
        s.add(ref);
      } else if (s) {
        s.delete(ref);
        if (s.size === 0) this.owners.delete(r.uid);
      }
    }
    if (add) this.uids.add(o.metadata.uid);
    else this.uids.delete(o.metadata.uid);
  }

  private record(info: ResourceInfo, ns: string, type: EventType, object: Obj): void {
    const e: StoredEvent = { rv: this.rv, resource: info.resource, namespace: ns, type, object };
    this.history.push(e);
    if (this.history.length - this.historyStart > this.historyLimit) {
      this.compactedRv = this.history[this.historyStart]!.rv;
      this.historyStart++;
      if (this.historyStart > 4096) {
        this.history.splice(0, this.historyStart);
        this.historyStart = 0;
      }
    }
    for (const w of this.watchers) {
      if (w.resource === info.resource && (w.namespace === undefined || w.namespace === ns) && w.filter(object)) w.send(type, object);
    }
    for (const fn of this.listeners) fn(e);
  }

  newUid(): string {
    const n = (++this.uidCounter).toString(16).padStart(12, "0");
    return `${crypto.randomUUID().slice(0, 24)}${n}`;
  }

  create(info: ResourceInfo, ns: string, obj: Obj): Obj {
    const b = this.bucket(info.resource);
    const name = obj.metadata.name as string;
    if (b.has(key(ns, name))) throw alreadyExists(info, name);
    this.rv++;
    const stored = structuredClone(obj);
    stored.metadata = {
      ...stored.metadata,
      ...(info.namespaced ? { namespace: ns } : {}),
      uid: this.newUid(),
      resourceVersion: String(this.rv),
      creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      ...(stored.spec !== undefined && info.statusSubresource ? { generation: 1 } : {}),
    };
    delete stored.metadata.deletionTimestamp;
    b.set(key(ns, name), stored);
    this.sortedKeys.delete(info.resource);
    this.index(info.resource, ns, stored, true);
    this.record(info, ns, "ADDED", stored);
    return stored;
  }

  /** Replaces a stored object. `expectRv` (when non-empty) must match or the write is a 409 Conflict. */
  replace(info: ResourceInfo, ns: string, name: string, next: Obj, expectRv?: string): Obj {
    const b = this.bucket(info.resource);
    const old = b.get(key(ns, name));
    if (!old) throw notFound(info, name);
    if (expectRv && expectRv !== old.metadata.resourceVersion) throw conflict(info, name);
    this.rv++;
    const stored = structuredClone(next);
    stored.metadata = {
      ...stored.metadata,
      ...(info.namespaced ? { namespace: ns } : {}),
      name,
      uid: old.metadata.uid,
      creationTimestamp: old.metadata.creationTimestamp,
      resourceVersion: String(this.rv),
    };
    if (old.metadata.generation !== undefined) {
      const specChanged = JSON.stringify(old.spec) !== JSON.stringify(stored.spec);
      stored.metadata.generation = old.metadata.generation + (specChanged ? 1 : 0);
    }
    if (old.metadata.deletionTimestamp) stored.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
    this.index(info.resource, ns, old, false);
    b.set(key(ns, name), stored);
    this.index(info.resource, ns, stored, true);
    this.record(info, ns, "MODIFIED", stored);
    return stored;
  }

  delete(info: ResourceInfo, ns: string, name: string, expectRv?: string, expectUid?: string): Obj {
    const b = this.bucket(info.resource);
    const old = b.get(key(ns, name));
    if (!old) throw notFound(info, name);
    if (expectRv && expectRv !== old.metadata.resourceVersion) throw conflict(info, name);
    if (expectUid && expectUid !== old.metadata.uid) throw conflict(info, name);
    b.delete(key(ns, name));
    this.sortedKeys.delete(info.resource);
    this.index(info.resource, ns, old, false);
    this.rv++;
    const gone = { ...old, metadata: { ...old.metadata, resourceVersion: String(this.rv) } };
    this.record(info, ns, "DELETED", gone);
    return gone;
  }

  /**
   * Starts a watch. From a version: replays history after it (410 if it was
   * compacted away). Without one (or "0"): synthetic ADDED for what exists.
   */
  watch(info: ResourceInfo, ns: string | undefined, fromRv: string | undefined, w: Watcher): void {
    if (fromRv && fromRv !== "0") {
      const from = Number(fromRv);
      if (!Number.isInteger(from) || from < this.compactedRv) {
        w.send("ERROR", expired(fromRv, this.compactedRv + 1).body);
        w.close();
        return;
      }
      for (let i = this.historyStart; i < this.history.length; i++) {
        const e = this.history[i]!;
        if (e.rv > from && e.resource === info.resource && (ns === undefined || e.namespace === ns) && w.filter(e.object)) w.send(e.type, e.object);
      }
    } else {
      for (const o of this.list(info, ns)) if (w.filter(o)) w.send("ADDED", o);
    }
    this.watchers.add(w);
  }

  /** Forgets all history: every watch resumed from an older version gets 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history.length = 0;
    this.historyStart = 0;
  }

  /** Ends every open watch (optionally with an ERROR event first, e.g. 410 Expired). */
  closeWatches(error?: Obj): number {
    const all = [...this.watchers];
    this.watchers.clear();
    for (const w of all) {
      if (error) w.send("ERROR", error);
      w.close();
    }
    return all.length;
  }

  /** All objects whose ownerReferences name `uid`. */
  dependents(uid: string): { resource: string; obj: Obj }[] {
    const out: { resource: string; obj: Obj }[] = [];
    for (const ref of this.owners.get(uid) ?? []) {
      const sp = ref.indexOf(" ");
      const resource = ref.slice(0, sp);
      const o = this.objects.get(resource)?.get(ref.slice(sp + 1));
      if (o) out.push({ resource, obj: o });
    }
    return out;
  }

  hasUid(uid: string): boolean {
    return this.uids.has(uid);
  }
}
