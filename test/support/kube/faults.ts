/**
 * Fault injection under test control: fail matching requests with a status
 * code, hang them (the client sees a timeout), or forbid a verb on a
 * resource (403, also reflected in SelfSubjectAccessReview answers).
 */
export interface FaultMatch {
  verb?: string;
  resource?: string;
}

interface Rule extends FaultMatch {
  action: { kind: "status"; code: number } | { kind: "hang" } | { kind: "forbid" };
  /** How many more requests this rule applies to (Infinity = until cleared). */
  remaining: number;
}

export type FaultAction = Rule["action"];

export class Faults {
  private rules: Rule[] = [];
  private releases = new Set<() => void>();

  /** Answer matching requests with `code` (default 500), `times` times or until cleared. */
  fail(match: FaultMatch & { code?: number; times?: number }): void {
    this.rules.push({ verb: match.verb, resource: match.resource, action: { kind: "status", code: match.code ?? 500 }, remaining: match.times ?? Infinity });
  }

  /** Never answer matching requests (until cleared or the client gives up). */
  hang(match: FaultMatch & { times?: number }): void {
    this.rules.push({ verb: match.verb, resource: match.resource, action: { kind: "hang" }, remaining: match.times ?? Infinity });
  }

  /** RBAC: deny `verb` on `resource` (403 Forbidden). */
  forbid(verb: string, resource: string): void {
    this.rules.push({ verb, resource, action: { kind: "forbid" }, remaining: Infinity });
  }

  isForbidden(verb: string, resource: string): boolean {
    return this.rules.some((r) => r.action.kind === "forbid" && (r.verb === undefined || r.verb === "*" || r.verb === verb) && (r.resource === undefined || r.resource === "*" || r.resource === resource));
  }

  /** Removes every rule and releases hung requests. */
  clear(): void {
    this.rules = [];
    for (const release of this.releases) release();
    this.releases.clear();
  }

  /** The action for a request, consuming one use of the rule. */
  take(verb: string, resource: string): FaultAction | undefined {
    const r = this.rules.find((x) => (x.verb === undefined || x.verb === "*" || x.verb === verb) && (x.resource === undefined || x.resource === "*" || x.resource === resource));
    if (!r) return undefined;
    if (r.action.kind !== "forbid" && --r.remaining <= 0) this.rules.splice(this.rules.indexOf(r), 1);
    return r.action;
  }

  /** Resolves when faults are cleared or `signal` aborts. */
  held(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const release = () => {
        this.releases.delete(release);
        resolve();
      };
      this.releases.add(release);
      signal.addEventListener("abort", release, { once: true });
    });
  }
}

/** Requests seen, by `"<verb> <resource>"` (e.g. `"create statefulsets"`). */
export class RequestCounter {
  readonly counts = new Map<string, number>();

  add(verb: string, resource: string): void {
    const k = `${verb} ${resource}`;
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }

  get(verb: string, resource?: string): number {
    let n = 0;
    for (const [k, v] of this.counts) {
      const [kv, kr] = k.split(" ");
      if (kv === verb && (resource === undefined || kr === resource)) n += v;
    }
    return n;
  }

  /** create + update + patch + delete + deletecollection. */
  writes(): number {
    return ["create", "update", "patch", "delete", "deletecollection"].reduce((n, v) => n + this.get(v), 0);
  }

  total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  reset(): void {
    this.counts.clear();
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }
}
