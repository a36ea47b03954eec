import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { LRP, LRPInput, OpiEvent, Task, TaskInput } from "../../src/model/index.ts";
import { LRP as LRPSchema, Task as TaskSchema } from "../../src/model/index.ts";
import { OpiNotFoundError, type OpiBackend } from "../../src/opi/index.ts";

/**
 * The ONE contract every OPI backend passes (DESIGN.md 3). It talks to the
 * backend only through `OpiBackend`; whatever is backend-specific (what an
 * app image is, how a simulated cluster moves on) comes from the harness.
 */
export interface OpiHarness {
  backend: OpiBackend;
  /**
   * Lifecycle (and any LRP field overrides) for an app whose instances serve
   * HTTP 200 on $PORT ("http") or exit at once with status 3 ("crash").
   */
  lrpFixture(kind: "http" | "crash"): Promise<Partial<LRPInput> & Pick<LRPInput, "lifecycle">>;
  /** Command and lifecycle for a task that exits 0 ("succeed"), exits 3 ("fail") or runs until stopped ("hang"). */
  taskFixture(kind: "succeed" | "fail" | "hang"): Promise<Pick<TaskInput, "command" | "lifecycle">>;
  /** True when route target addresses answer HTTP from this test process. */
  reachable: boolean;
  /** Called between polls; a simulated cluster advances its controllers here. */
  tick?(): Promise<void>;
  /** Upper bound for any one wait (default 15 s). */
  timeoutMs?: number;
  close(): Promise<void>;
}

let seq = 0;

/** A unique, valid LRP for this run, merged with the harness fixture. */
export function makeLRP(fixture: Partial<LRPInput>, over: Partial<LRPInput> = {}): LRP {
  const guid = `app${++seq}-${crypto.randomUUID().slice(0, 8)}`;
  const version = "v1";
  return LRPSchema.parse({
    guid,
    version,
    process_guid: `${guid}-${version}`,
    app_guid: `appguid-${guid}`,
    app_name: `app-${seq}`,
    space_name: "dev",
    organization_name: "org",
    instances: 1,
    memory_mb: 256,
    disk_mb: 256,
    routes: { "cf-router": [{ hostname: `${guid}.apps.localhost`, port: 8080 }] },
    last_updated: "1700000000.0",
    ...fixture,
    ...over,
  });
}

export function makeTask(fixture: Pick<TaskInput, "command" | "lifecycle">, over: Partial<TaskInput> = {}): Task {
  return TaskSchema.parse({ guid: `task-${++seq}-${crypto.randomUUID().slice(0, 8)}`, name: `t${seq}`, app_guid: "appguid-task", memory_mb: 64, disk_mb: 64, ...fixture, ...over });
}

export function runOpiContract(name: string, makeHarness: () => Promise<OpiHarness>): void {
  describe(`OPI contract: ${name}`, () => {
    let h: OpiHarness;
    let opi: OpiBackend;
    let events: OpiEvent[];
    let unsubscribe: () => void;

    beforeEach(async () => {
      h = await makeHarness();
      opi = h.backend;
      events = [];
      unsubscribe = opi.subscribe((e) => events.push(e));
    });
    afterEach(async () => {
      unsubscribe();
      await h.close();
    });

    async function eventually<T>(check: () => Promise<T | undefined | null | false> | T | undefined | null | false, what: string): Promise<T> {
      const deadline = Date.now() + (h.timeoutMs ?? 15_000);
      let last: unknown;
      for (;;) {
        await h.tick?.();
        try {
          const v = await check();
          if (v) return v as T;
        } catch (err) {
          last = err;
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
        await Bun.sleep(10);
      }
    }

    const running = (pg: string, n: number) =>
      eventually(async () => {
        const xs = await opi.getInstances(pg);
        return xs.length === n && xs.every((i) => i.state === "RUNNING") ? xs : null;
      }, `${n} RUNNING instances of ${pg}`);

    test("desire, get, list with the last-updated annotation, and desire again is a no-op", async () => {
      const lrp = makeLRP(await h.lrpFixture("http"), { instances: 2 });
      await opi.desireLRP(lrp);
      await opi.desireLRP({ ...lrp, instances: 5 });
      const got = await opi.getLRP(lrp.process_guid);
      expect(got?.guid).toBe(lrp.guid);
      expect(got?.instances).toBe(2);
      const list = await opi.listLRPs();
      expect(list).toContainEqual({ desired_lrp_key: { process_guid: lrp.process_guid }, guid: lrp.guid, version: lrp.version, annotation: lrp.last_updated });
      const xs = await running(lrp.process_guid, 2);
      expect(xs.map((i) => i.index)).toEqual([0, 1]);
      expect(xs.every((i) => i.since > 0 && i.placement_error === "")).toBe(true);
      expect(events.some((e) => e.type === "instance_state" && e.process_guid === lrp.process_guid && e.state === "RUNNING")).toBe(true);
    });

    test("unknown processes: get is null, instances empty, stop succeeds, update is not found", async () => {
      expect(await opi.getLRP("nope-v1")).toBeNull();
      expect(await opi.getInstances("nope-v1")).toEqual([]);
      await opi.stopLRP("nope-v1");
      await opi.stopInstance("nope-v1", 0);
      await expect(opi.updateLRP({ guid: "nope", version: "v1", update: { instances: 2 } })).rejects.toBeInstanceOf(OpiNotFoundError);
    });

    test("running instances are routed and serve HTTP", async () => {
      const lrp = makeLRP(await h.lrpFixture("http"), { instances: 2 });
      await opi.desireLRP(lrp);
      await running(lrp.process_guid, 2);
      const host = lrp.routes["cf-router"]![0]!.hostname;
      const targets = await eventually(() => (opi.routeTargets(host.toUpperCase()).length === 2 ? opi.routeTargets(host) : null), "two route targets");
      expect(targets.map((t) => t.index).sort()).toEqual([0, 1]);
      expect(opi.routeTargets("unknown.apps.localhost")).toEqual([]);
      if (h.reachable) {
        for (const t of targets) {
          const res = await fetch(`http://${t.address}/`);
          expect(res.status).toBe(200);
          await res.arrayBuffer();
        }
      }
    });

    test("route paths and weights: 'host/path' entries give targets per path, with weight, app and instance ids", async () => {
      const host = `paths-${crypto.randomUUID().slice(0, 8)}.apps.localhost`;
      const lrp = makeLRP(await h.lrpFixture("http"), {
        instances: 1,
        routes: { "cf-router": [{ hostname: host, port: 8080 }, { hostname: `${host.toUpperCase()}/Api/v1/`, port: 8080, weight: 3 }] },
      });
      await opi.desireLRP(lrp);
      const xs = await running(lrp.process_guid, 1);
      const targets = await eventually(() => (opi.routeTargets(host).length === 2 ? opi.routeTargets(host) : null), "targets on both paths");
      expect(targets.map((t) => [t.path, t.weight]).sort()).toEqual([["", 1], ["/api/v1", 3]]);
      for (const t of targets) {
        expect(t.app_guid).toBe(lrp.app_guid);
        expect(t.process_guid).toBe(lrp.process_guid);
        expect(t.instance_guid).toBe(xs[0]!.instance_guid);
        expect(t.instance_guid).not.toBe("");
      }
      if (opi.knowsRoute) expect(opi.knowsRoute(host)).toBe(true);
      if (opi.routePaths) expect(opi.routePaths(host).sort()).toEqual(["", "/api/v1"]);
      await opi.stopLRP(lrp.process_guid);
      await eventually(() => opi.routeTargets(host).length === 0, "no targets once stopped");
      if (opi.routePaths) expect(opi.routePaths(host)).toEqual([]);
    });

    test("update scales up and down (highest index first), changes routes and the annotation", async () => {
      const lrp = makeLRP(await h.lrpFixture("http"), { instances: 1 });
      await opi.desireLRP(lrp);
      await running(lrp.process_guid, 1);
      await opi.updateLRP({ guid: lrp.guid, version: lrp.version, update: { instances: 3, annotation: "1700000001.0" } });
      await running(lrp.process_guid, 3);
      expect((await opi.listLRPs()).find((s) => s.desired_lrp_key.process_guid === lrp.process_guid)?.annotation).toBe("1700000001.0");
      const guids = (await opi.getInstances(lrp.process_guid)).map((i) => i.instance_guid);
      await opi.updateLRP({ guid: lrp.guid, version: lrp.version, update: { instances: 1 } });
      const after = await eventually(async () => {
        const xs = await opi.getInstances(lrp.process_guid);
        return xs.length === 1 ? xs : null;
      }, "scale down to 1");
      expect(after[0]!.index).toBe(0);
      expect(after[0]!.instance_guid).toBe(guids[0]!);
      expect((await opi.getLRP(lrp.process_guid))?.instances).toBe(1);

      const newHost = `renamed-${lrp.guid}.apps.localhost`;
      await opi.updateLRP({ guid: lrp.guid, version: lrp.version, update: { routes: { "cf-router": [{ hostname: newHost, port: 8080 }] } } });
      await eventually(() => opi.routeTargets(newHost).length === 1, "targets on the new route");
      expect(opi.routeTargets(lrp.routes["cf-router"]![0]!.hostname)).toEqual([]);
    });

    test("stopping one instance brings it back; stopping the LRP forgets it", async () => {
      const lrp = makeLRP(await h.lrpFixture("http"), { instances: 2 });
      await opi.desireLRP(lrp);
      const before = await running(lrp.process_guid, 2);
      await opi.stopInstance(lrp.process_guid, 1);
      await eventually(async () => {
        const xs = await opi.getInstances(lrp.process_guid);
        return xs[1]?.state === "RUNNING" && xs[1].instance_guid !== before[1]!.instance_guid;
      }, "instance 1 replaced");
      await opi.stopLRP(lrp.process_guid);
      expect(await opi.getLRP(lrp.process_guid)).toBeNull();
      expect((await opi.listLRPs()).some((s) => s.desired_lrp_key.process_guid === lrp.process_guid)).toBe(false);
      expect(await opi.getInstances(lrp.process_guid)).toEqual([]);
      expect(opi.routeTargets(lrp.routes["cf-router"]![0]!.hostname)).toEqual([]);
      await opi.stopLRP(lrp.process_guid);
    });

    test("a crashing instance reports crash events with exit status and count", async () => {
      const lrp = makeLRP(await h.lrpFixture("crash"), { instances: 1 });
      await opi.desireLRP(lrp);
      const crash = await eventually(
        () => events.find((e): e is Extract<OpiEvent, { type: "crash" }> => e.type === "crash" && e.process_guid === lrp.process_guid),
        "a crash event",
      );
      expect(crash.index).toBe(0);
      expect(crash.exit_status).toBe(3);
      expect(crash.crash_count).toBeGreaterThanOrEqual(1);
      expect(crash.exit_description).toContain("3");
      const xs = await eventually(async () => {
        const i = (await opi.getInstances(lrp.process_guid))[0];
        return i && i.crash_count >= 1 ? i : null;
      }, "crash count on the instance");
      expect(xs.state).not.toBe("RUNNING");
    });

    test("tasks: success, failure with reason, cancel, idempotent desire", async () => {
      const ok = makeTask(await h.taskFixture("succeed"));
      const bad = makeTask(await h.taskFixture("fail"));
      const hang = makeTask(await h.taskFixture("hang"));
      await opi.desireTask(ok);
      await opi.desireTask(ok);
      await opi.desireTask(bad);
      await opi.desireTask(hang);
      const done = await eventually(async () => {
        const a = await opi.getTask(ok.guid);
        const b = await opi.getTask(bad.guid);
        return a?.state === "SUCCEEDED" && b?.state === "FAILED" ? [a, b] : null;
      }, "tasks to finish");
      expect(done[1]!.failure_reason).not.toBe("");
      await eventually(async () => (await opi.getTask(hang.guid))?.state === "RUNNING", "hanging task to run");
      await opi.cancelTask(hang.guid);
      const cancelled = await eventually(async () => {
        const t = await opi.getTask(hang.guid);
        return t?.state === "FAILED" ? t : null;
      }, "cancelled task to fail");
      expect(cancelled.failure_reason).toContain("cancel");
      await opi.cancelTask(hang.guid);
      await opi.cancelTask("no-such-task");
      expect(await opi.getTask("no-such-task")).toBeNull();
      const listed = (await opi.listTasks()).filter((t) => [ok.guid, bad.guid, hang.guid].includes(t.guid));
      expect(listed.length).toBe(3);
      const completions = events.filter((e) => e.type === "task_completed" && [ok.guid, bad.guid, hang.guid].includes(e.task_guid));
      expect(completions.length).toBe(3);
      expect(completions.find((e) => e.type === "task_completed" && e.task_guid === ok.guid)).toMatchObject({ failed: false, state: "SUCCEEDED" });
    });
  });
}
