import type { Instance, LRP, LRPSchedulingInfo, LRPUpdate, OpiEvent, Task, TaskStatus } from "../../src/model/index.ts";
import type { OpiBackend, RouteTarget } from "../../src/opi/index.ts";

/**
 * A minimal in-memory OpiBackend for testing OPI callers (Sink, Cloud
 * Controller): records every call, can be told to fail, runs nothing.
 */
export class MemoryOpi implements OpiBackend {
  readonly name = "memory";
  readonly supportsDockerImages = true;
  readonly lrps = new Map<string, LRP>();
  readonly tasks = new Map<string, TaskStatus>();
  readonly calls: string[] = [];
  failNext = 0;
  private listeners = new Set<(e: OpiEvent) => void>();

  private record(call: string): void {
    this.calls.push(call);
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error(`injected failure in ${call}`);
    }
  }

  writes(): string[] {
    return this.calls.filter((c) => !c.startsWith("get") && !c.startsWith("list"));
  }

  async desireLRP(lrp: LRP) {
    this.record(`desire ${lrp.process_guid}`);
    if (!this.lrps.has(lrp.process_guid)) this.lrps.set(lrp.process_guid, structuredClone(lrp));
  }
  async updateLRP(u: LRPUpdate) {
    const key = `${u.guid}-${u.version}`;
    this.record(`update ${key}`);
    const lrp = this.lrps.get(key);
    if (!lrp) throw new Error(`no such process ${key}`);
    if (u.update.instances !== undefined) lrp.instances = u.update.instances;
    if (u.update.routes) lrp.routes = u.update.routes;
    if (u.update.annotation !== undefined) lrp.last_updated = u.update.annotation;
  }
  async getLRP(pg: string) {
    this.calls.push(`get ${pg}`);
    return this.lrps.get(pg) ?? null;
  }
  async listLRPs(): Promise<LRPSchedulingInfo[]> {
    this.calls.push("list");
    return [...this.lrps.values()].map((l) => ({ desired_lrp_key: { process_guid: l.process_guid }, guid: l.guid, version: l.version, annotation: l.last_updated }));
  }
  async stopLRP(pg: string) {
    this.record(`stop ${pg}`);
    this.lrps.delete(pg);
  }
  async stopInstance(pg: string, index: number) {
    this.record(`stop ${pg}/${index}`);
  }
  async getInstances(pg: string): Promise<Instance[]> {
    const lrp = this.lrps.get(pg);
    if (!lrp) return [];
    return Array.from({ length: lrp.instances }, (_, index) => ({ index, since: 0, state: "RUNNING" as const, placement_error: "", crash_count: 0, crash_reason: "", host: "127.0.0.1", port: 0, instance_guid: `${pg}-${index}`, cell: "memory" }));
  }
  async desireTask(task: Task) {
    this.record(`task ${task.guid}`);
    if (!this.tasks.has(task.guid)) this.tasks.set(task.guid, { guid: task.guid, state: "RUNNING", failure_reason: "", exit_code: null, started_at: 0, finished_at: null });
  }
  async getTask(guid: string) {
    return this.tasks.get(guid) ?? null;
  }
  async listTasks() {
    return [...this.tasks.values()];
  }
  async cancelTask(guid: string) {
    this.record(`cancel ${guid}`);
    const t = this.tasks.get(guid);
    if (t && t.state === "RUNNING") Object.assign(t, { state: "FAILED", failure_reason: "cancelled" });
  }
  subscribe(l: (e: OpiEvent) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(e: OpiEvent) {
    for (const l of this.listeners) l(e);
  }
  routeTargets(_host: string): RouteTarget[] {
    return [];
  }
  async start() {}
  async stop() {}
}
