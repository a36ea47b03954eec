import { afterAll, afterEach, describe, expect, test } from "bun:test";
import type { LRP, LRPInput, OpiEvent } from "../../../src/model/index.ts";
import { diegoRestartPolicy, FakeExecutor, ManualClock, restartDelay } from "../../../src/opi/local/index.ts";
import { waitFor } from "../../support/poll.ts";
import { cleanupTempDirs } from "../../support/tmp.ts";
import { makeLRP, makeTask } from "../contract.ts";
import { localSetup, type LocalSetup } from "./harness.ts";

afterAll(cleanupTempDirs);

const fakeLife = (cmd = "serve") => ({ lifecycle: { buildpack_lifecycle: { droplet_guid: "d", droplet_hash: "a".repeat(64), start_command: cmd } } });

describe("Diego restart policy", () => {
  test("3 immediate restarts, then 30 s doubling to 16 min, give up at 200", () => {
    const p = diegoRestartPolicy;
    expect([1, 2, 3].map((n) => restartDelay(p, n))).toEqual([0, 0, 0]);
    expect(restartDelay(p, 4)).toBe(30_000);
    expect(restartDelay(p, 5)).toBe(60_000);
    expect(restartDelay(p, 8)).toBe(480_000);
    expect(restartDelay(p, 9)).toBe(960_000);
    expect(restartDelay(p, 50)).toBe(960_000);
    expect(restartDelay(p, 199)).toBe(960_000);
    expect(restartDelay(p, 200)).toBeNull();
  });
});

describe("local backend scheduling (fake executor)", () => {
  let s: LocalSetup;
  let fake: FakeExecutor;
  let events: OpiEvent[];
  afterEach(async () => {
    await s?.close();
  });

  async function setup(config: NonNullable<Parameters<typeof localSetup>[0]>["config"] = {}, extra: NonNullable<Parameters<typeof localSetup>[0]>["backend"] = {}) {
    fake = new FakeExecutor();
    s = await localSetup({ config, backend: { executor: fake, ...extra } });
    events = [];
    s.backend.subscribe((e) => events.push(e));
  }
  const desire = async (over: Partial<LRPInput> = {}, cmd = "serve") => {
    const lrp = makeLRP(fakeLife(cmd), over);
    await s.backend.desireLRP(lrp);
    return lrp;
  };
  const states = async (pg: string) => (await s.backend.getInstances(pg)).map((i) => i.state);

  test("crash backoff follows the policy on an injected clock, and the crash count resets after a healthy run", async () => {
    const clock = new ManualClock();
    await setup({}, { clock, restartPolicy: { maxCrashes: 7 } });
    const lrp = await desire();
    const inst = async () => (await s.backend.getInstances(lrp.process_guid))[0]!;
    await waitFor(async () => (await inst()).state === "RUNNING");
    const crashOnce = async (expectCount: number) => {
      const guid = (await inst()).instance_guid;
      fake.crash(guid, 2);
      await waitFor(async () => (await inst()).crash_count === expectCount, { what: `crash ${expectCount}` });
    };
    for (const n of [1, 2, 3]) {
      await crashOnce(n);
      await waitFor(async () => (await inst()).state === "RUNNING", { what: `immediate restart ${n}` });
    }
    // The restart's CLAIMED event carries the injected clock's time: it must be exactly the backoff after the
    // crash, so a restart that came early (at once, or at 29.999 s) fails here however fast it happened.
    // A marker LRP desired 1 ms before the backoff ends is a barrier: its auction would place a restart already due.
    const restartedAfter = async (count: number, backoffMs: number) => {
      await crashOnce(count);
      const crashedAt = clock.now();
      clock.advance(backoffMs - 1);
      const marker = await desire();
      await waitFor(async () => (await states(marker.process_guid))[0] === "RUNNING", { what: "marker running" });
      clock.advance(1);
      await waitFor(async () => (await inst()).state === "RUNNING", { what: `restart after ${backoffMs} ms` });
      const crash = events.findIndex((e) => e.type === "crash" && e.crash_count === count);
      const next = events.slice(crash + 1).find((e) => e.type === "instance_state" && e.process_guid === lrp.process_guid && e.state !== "CRASHED");
      expect(next).toMatchObject({ state: "CLAIMED", at: crashedAt + backoffMs });
    };
    await restartedAfter(4, 30_000);
    await restartedAfter(5, 60_000);

    // A long healthy run resets the count: the next crash is the first again (immediate restart).
    clock.advance(diegoRestartPolicy.crashResetMs);
    await crashOnce(1);
    await waitFor(async () => (await inst()).state === "RUNNING", { what: "immediate restart after reset" });

    const crashes = events.filter((e) => e.type === "crash");
    expect(crashes.map((e) => e.type === "crash" && e.crash_count)).toEqual([1, 2, 3, 4, 5, 1]);
    expect(crashes.every((e) => e.type === "crash" && e.exit_status === 2 && e.exit_description === "APP/PROC/WEB: Exited with status 2")).toBe(true);
  });

  test("gives up after the maximum crash count: stays CRASHED", async () => {
    const clock = new ManualClock();
    await setup({}, { clock, restartPolicy: { maxCrashes: 3 } });
    const lrp = await desire({}, "crash");
    fake.behaviour = (cmd) => (cmd === "crash" ? { exitCode: 1 } : {});
    await s.backend.stopInstance(lrp.process_guid, 0);
    await waitFor(async () => (await s.backend.getInstances(lrp.process_guid))[0]!.crash_count === 3, { what: "three crashes" });
    const gaveUp = events.length;
    clock.advance(60 * 60_000);
    // A barrier: placing another LRP runs an auction, which would also place any instance whose restart is due.
    const marker = await desire();
    await waitFor(async () => (await states(marker.process_guid))[0] === "RUNNING", { what: "marker running" });
    expect(events.slice(gaveUp).filter((e) => "process_guid" in e && e.process_guid === lrp.process_guid)).toEqual([]);
    const i = (await s.backend.getInstances(lrp.process_guid))[0]!;
    expect(i.state).toBe("CRASHED");
    expect(i.crash_count).toBe(3);
    expect(fake.running().map((r) => r.log.sourceId)).toEqual([marker.app_guid]);
  });

  test("a failing liveness check after RUNNING restarts the instance", async () => {
    await setup();
    const lrp = await desire();
    await waitFor(async () => (await states(lrp.process_guid))[0] === "RUNNING");
    fake.behaviour = () => ({ unhealthy: true });
    const crash = await waitFor(() => events.find((e) => e.type === "crash"), { what: "liveness crash" });
    expect(crash.type === "crash" && crash.reason).toStartWith("health check failed: ");
  });

  test("out of memory from the executor is a crash with reason 'out of memory'", async () => {
    await setup();
    const lrp = await desire();
    await waitFor(async () => (await states(lrp.process_guid))[0] === "RUNNING");
    fake.oom((await s.backend.getInstances(lrp.process_guid))[0]!.instance_guid);
    const crash = await waitFor(() => events.find((e) => e.type === "crash"));
    expect(crash).toMatchObject({ reason: "out of memory", exit_status: 137 });
  });

  test("a cell config that fits nothing leaves instances UNCLAIMED with the missing resource", async () => {
    await setup({ cells: { count: 2, memoryMb: 100, diskMb: 100_000, maxInstances: 10 } });
    const lrp = await desire({ instances: 2, memory_mb: 256 });
    const xs = await waitFor(async () => {
      const v = await s.backend.getInstances(lrp.process_guid);
      return v.every((i) => i.placement_error) ? v : null;
    });
    expect(xs.map((i) => [i.state, i.placement_error])).toEqual([
      ["UNCLAIMED", "Insufficient resources: memory"],
      ["UNCLAIMED", "Insufficient resources: memory"],
    ]);
    const t = makeTask({ command: "x" }, { memory_mb: 4096 });
    await s.backend.desireTask(t);
    const st = await waitFor(async () => ((await s.backend.getTask(t.guid))?.state === "FAILED" ? s.backend.getTask(t.guid) : null));
    expect(st!.failure_reason).toBe("Insufficient resources: memory");
  });

  test("UNCLAIMED instances are placed as soon as room appears; instances spread across cells", async () => {
    await setup({ cells: { count: 2, memoryMb: 1024, diskMb: 100_000, maxInstances: 10 } });
    const a = await desire({ instances: 2, memory_mb: 512 });
    await waitFor(async () => (await states(a.process_guid)).every((x) => x === "RUNNING"));
    const cells = (await s.backend.getInstances(a.process_guid)).map((i) => i.cell).sort();
    expect(cells).toEqual(["cell-0", "cell-1"]);
    const b = await desire({ instances: 3, memory_mb: 512 });
    await waitFor(async () => (await states(b.process_guid)).filter((x) => x === "RUNNING").length === 2);
    const waiting = (await s.backend.getInstances(b.process_guid)).find((i) => i.state === "UNCLAIMED");
    expect(waiting?.placement_error).toBe("Insufficient resources: memory");
    await s.backend.stopLRP(a.process_guid);
    await waitFor(async () => (await states(b.process_guid)).every((x) => x === "RUNNING"), { what: "placed once room appeared" });
  });

  test("placement tags: tagged work lands only on tagged cells, untagged never does", async () => {
    await setup({ cells: { list: [{ name: "plain" }, { name: "gpu-cell", placementTags: ["gpu"] }] } });
    const gpu = await desire({ instances: 2, placement_tags: ["gpu"] });
    const plain = await desire({ instances: 2 });
    const edge = await desire({ instances: 1, placement_tags: ["edge"] });
    await waitFor(async () => (await states(gpu.process_guid)).every((x) => x === "RUNNING") && (await states(plain.process_guid)).every((x) => x === "RUNNING"));
    expect((await s.backend.getInstances(gpu.process_guid)).map((i) => i.cell)).toEqual(["gpu-cell", "gpu-cell"]);
    expect((await s.backend.getInstances(plain.process_guid)).map((i) => i.cell)).toEqual(["plain", "plain"]);
    const e = await waitFor(async () => (await s.backend.getInstances(edge.process_guid)).find((i) => i.placement_error));
    expect(e.placement_error).toContain("edge");
  });

  test("a SIGTERM-ignoring instance is stopped after the (injected) grace; scale-down stops highest indexes first", async () => {
    await setup();
    fake.behaviour = (cmd) => (cmd === "stubborn" ? { ignoresSigterm: true } : {});
    const lrp = await desire({ instances: 4 }, "stubborn");
    await waitFor(async () => (await states(lrp.process_guid)).every((x) => x === "RUNNING"));
    const before = await s.backend.getInstances(lrp.process_guid);
    await s.backend.updateLRP({ guid: lrp.guid, version: lrp.version, update: { instances: 2 } });
    const left = new Set(fake.running().map((r) => r.guid));
    expect(before.map((i) => left.has(i.instance_guid))).toEqual([true, true, false, false]);
  });

  test("1,000 desired processes on the fake executor all run", async () => {
    await setup({ cells: { count: 4, memoryMb: 1024 * 1024, maxInstances: 1000 } });
    const lrps: LRP[] = [];
    for (let i = 0; i < 1000; i++) lrps.push(await desire({ memory_mb: 64 }));
    await waitFor(async () => {
      for (const l of lrps) if ((await states(l.process_guid))[0] !== "RUNNING") return false;
      return true;
    }, { what: "1000 running" });
    expect((await s.backend.listLRPs()).length).toBe(1000);
  });
});
