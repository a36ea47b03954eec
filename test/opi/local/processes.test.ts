import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { LRP, LRPInput, OpiEvent } from "../../../src/model/index.ts";
import { putDroplet } from "../../support/droplet.ts";
import { waitFor } from "../../support/poll.ts";
import { cleanupTempDirs } from "../../support/tmp.ts";
import { makeLRP, makeTask } from "../contract.ts";
import { localSetup, type LocalSetup } from "./harness.ts";

afterAll(cleanupTempDirs);

/** Pids of processes started for one run (instance or task guid), found by their environment. */
function pidsOf(runGuid: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`, "utf8");
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      if (env.split("\0").includes(`EIRINI_RUN_GUID=${runGuid}`)) out.push(Number(name));
    } catch {
      /* gone or not ours */
    }
  }
  return out;
}

describe("local backend with real processes", () => {
  let s: LocalSetup;
  let events: OpiEvent[];
  afterEach(async () => {
    await s?.close();
  });

  async function setup(opts: Parameters<typeof localSetup>[0] = {}) {
    s = await localSetup(opts);
    events = [];
    s.backend.subscribe((e) => events.push(e));
    return s;
  }

  const bp = (hash: string, start_command = "") => ({ lifecycle: { buildpack_lifecycle: { droplet_guid: "d", droplet_hash: hash, start_command } } });

  async function desire(over: Partial<LRPInput> = {}, command = ""): Promise<LRP> {
    const lrp = makeLRP(bp(s.httpHash, command), over);
    await s.backend.desireLRP(lrp);
    return lrp;
  }

  const instance = async (pg: string, index = 0) => (await s.backend.getInstances(pg))[index];
  const crashOf = (pg: string) => events.find((e): e is Extract<OpiEvent, { type: "crash" }> => e.type === "crash" && e.process_guid === pg);

  test("CF environment, .profile.d, home layout on a shared read-only droplet, app logs per instance", async () => {
    await setup();
    const lrp = await desire({ instances: 2, environment: { MY_VAR: "mine" } });
    await waitFor(async () => (await s.backend.getInstances(lrp.process_guid)).every((i) => i.state === "RUNNING"), { what: "running" });
    const [i0, i1] = await s.backend.getInstances(lrp.process_guid);
    const body = (await (await fetch(`http://127.0.0.1:${i1!.port}/`)).json()) as Record<string, any>;
    expect(body.index).toBe("1");
    expect(body.port).toBe(i1!.port);
    expect(body.profiled).toBe("yes");
    expect(body.home).toEndWith("/home/app");
    expect(body.vcap.application_name).toBe(lrp.app_name);
    expect(body.vcap.application_uris).toEqual([lrp.routes["cf-router"]![0]!.hostname]);
    expect(body.vcap.limits.mem).toBe(256);
    expect(i0!.port).not.toBe(i1!.port);

    // One unpacked droplet, files hard-linked into each home and read-only.
    const droplets = readdirSync(join(s.dir, "opi-local", "droplets"));
    expect(droplets).toEqual([s.httpHash]);
    const shared = statSync(join(s.dir, "opi-local", "droplets", s.httpHash, "app", "server.js"));
    const mine = statSync(join(body.home, "server.js"));
    expect(mine.ino).toBe(shared.ino);
    expect(mine.mode & 0o222).toBe(0);

    const lines = await waitFor(() => {
      const l = s.logs.lines.filter((x) => x.source_id === lrp.app_guid && x.source_type === "APP/PROC/WEB");
      return l.some((x) => x.instance_id === "1" && x.stream === "ERR" && x.message === "instance 1 ready") && l.some((x) => x.instance_id === "0" && x.stream === "OUT") ? l : null;
    }, { what: "app logs" });
    // The cell's own lines, per instance, beside the app's.
    const cell = s.logs.lines.filter((x) => x.source_id === lrp.app_guid && x.source_type === "CELL");
    expect(cell.some((l) => l.instance_id === "1" && l.message === "Container became healthy")).toBe(true);
    expect(cell.some((l) => l.instance_id === "0" && /^Cell \S+ creating container for instance /.test(l.message))).toBe(true);
    expect(lines.find((l) => l.instance_id === "0" && l.stream === "OUT")!.message).toBe(`listening on ${i0!.port}`);
  });

  test("over its memory limit: killed and reported as out of memory", async () => {
    await setup();
    const hog = `exec ${process.execPath} -e 'const a = []; for (;;) { a.push(Buffer.alloc(16 << 20, 1)); await Bun.sleep(5); }'`;
    const lrp = await desire({ memory_mb: 64, health_check_type: "process" }, hog);
    const crash = await waitFor(() => crashOf(lrp.process_guid), { what: "oom crash" });
    expect(crash.reason).toBe("out of memory");
    expect(crash.exit_status).toBe(137);
    expect(crash.exit_description).toContain("out of memory");
    expect((await instance(lrp.process_guid))!.crash_reason).toBe("out of memory");
  });

  test("an instance that ignores SIGTERM is SIGKILLed after the grace period; forked children go with it", async () => {
    await setup();
    const lrp = await desire({ health_check_type: "process" }, "trap '' TERM; sleep 1000 & sleep 1000 & exec sleep 1000");
    const i = await waitFor(async () => ((await instance(lrp.process_guid))?.state === "RUNNING" ? instance(lrp.process_guid) : null), { what: "running" });
    const pids = await waitFor(() => (pidsOf(i!.instance_guid).length === 3 ? pidsOf(i!.instance_guid) : null), { what: "three processes in the group" });
    await s.backend.stopLRP(lrp.process_guid);
    expect(pidsOf(i!.instance_guid)).toEqual([]);
    for (const pid of pids) expect(existsSync(`/proc/${pid}/cmdline`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z")).toBe(false);
  });

  test("a crash of the main process takes its forked children with it and restarts", async () => {
    await setup();
    const lrp = await desire({ health_check_type: "process" }, "sleep 1000 & sleep 0.2; exit 7");
    const first = await waitFor(async () => ((await instance(lrp.process_guid))?.state === "RUNNING" ? instance(lrp.process_guid) : null), { what: "running" });
    const crash = await waitFor(() => crashOf(lrp.process_guid), { what: "crash" });
    expect(crash.exit_status).toBe(7);
    expect(crash.exit_description).toBe("APP/PROC/WEB: Exited with status 7");
    await waitFor(() => pidsOf(first!.instance_guid).length === 0, { what: "children of the crashed instance gone" });
    await waitFor(async () => (await instance(lrp.process_guid))!.instance_guid !== first!.instance_guid, { what: "restarted" });
  });

  test("a stdout flood is bounded and does not take the appliance down", async () => {
    await setup({ backend: { maxLogBacklogBytes: 64 * 1024 } });
    const lrp = await desire({}, `head -c 4000000 /dev/zero | tr '\\0' 'x' | fold -w 100; exec ${process.execPath} server.js`);
    await waitFor(async () => (await instance(lrp.process_guid))?.state === "RUNNING", { what: "running after the flood", timeoutMs: 20_000 });
    const mine = s.logs.lines.filter((l) => l.source_id === lrp.app_guid);
    expect(mine.length).toBeLessThan(10_000); // 4 MB of output is ~40,000 lines
    expect(mine.some((l) => l.stream === "ERR" && l.message.startsWith("eirini: dropped "))).toBe(true);
    const i = await instance(lrp.process_guid);
    expect((await fetch(`http://127.0.0.1:${i!.port}/`)).status).toBe(200);
  });

  test("never opens its port: crashes with 'never healthy' after the start timeout and is restarted", async () => {
    await setup();
    const lrp = await desire({ start_timeout_ms: 300 }, "exec sleep 1000");
    const crash = await waitFor(() => crashOf(lrp.process_guid), { what: "never-healthy crash" });
    expect(crash.reason).toMatch(/^Instance never healthy after 0s: Failed to make TCP connection to port \d+: connection refused$/);
    await waitFor(async () => (await instance(lrp.process_guid))!.crash_count >= 2, { what: "restarted and crashed again" });
  });

  test("http health check: RUNNING only on 200 from the endpoint", async () => {
    await setup();
    const good = await desire({ health_check_type: "http", health_check_http_endpoint: "/healthy" });
    const bad = await desire({ health_check_type: "http", health_check_http_endpoint: "/fail", start_timeout_ms: 300 });
    await waitFor(async () => (await instance(good.process_guid))?.state === "RUNNING", { what: "http-healthy instance" });
    const crash = await waitFor(() => crashOf(bad.process_guid), { what: "http never healthy" });
    expect(crash.reason).toContain("received status code 500");
  });

  test("a droplet without a start command, a missing droplet and a docker image each get a clear state", async () => {
    await setup();
    const noCmd = await putDroplet(s.store.blobs, { "app/x.txt": "x" }, null);
    const a = makeLRP(bp(noCmd));
    const b = makeLRP(bp("f".repeat(64)));
    const c = makeLRP({ lifecycle: { docker_lifecycle: { image: "nginx:latest", command: [] } } });
    for (const l of [a, b, c]) await s.backend.desireLRP(l);
    const ia = await waitFor(async () => ((await instance(a.process_guid))?.state === "CRASHED" ? instance(a.process_guid) : null), { what: "no start command" });
    expect(ia!.crash_reason).toContain("no start command");
    const ib = await waitFor(async () => ((await instance(b.process_guid))?.state === "CRASHED" ? instance(b.process_guid) : null), { what: "missing droplet" });
    expect(ib!.crash_reason).toContain("not in the blob store");
    const ic = await instance(c.process_guid);
    expect(ic!.state).toBe("UNCLAIMED");
    expect(ic!.placement_error).toContain("docker");
    // Blocked instances are not restarted in a loop. A barrier: another LRP placed and RUNNING means an auction ran
    // after the crashes, which would have restarted them (the first crashes restart at once) were they not blocked.
    const marker = await desire();
    await waitFor(async () => (await instance(marker.process_guid))?.state === "RUNNING", { what: "marker running" });
    for (const l of [a, b]) {
      expect((await instance(l.process_guid))!.crash_count).toBe(1);
      expect(events.filter((e) => "process_guid" in e && e.process_guid === l.process_guid).map((e) => (e.type === "instance_state" ? e.state : e.type))).toEqual(["CLAIMED", "CRASHED", "crash"]);
    }
  });

  test("tasks: CF environment, logs tagged APP/TASK/<name>, droplet files, exit codes", async () => {
    await setup();
    const t = makeTask({ command: 'echo "task $CF_INSTANCE_IP $MEMORY_LIMIT"; test -f server.js', lifecycle: { buildpack_lifecycle: { droplet_guid: "d", droplet_hash: s.httpHash } } }, { name: "migrate", app_guid: "app-t" });
    const f = makeTask({ command: "echo oops >&2; exit 4" }, { app_guid: "app-t" });
    await s.backend.desireTask(t);
    await s.backend.desireTask(f);
    await waitFor(async () => (await s.backend.getTask(t.guid))?.state === "SUCCEEDED", { what: "task success" });
    const failed = await waitFor(async () => ((await s.backend.getTask(f.guid))?.state === "FAILED" ? s.backend.getTask(f.guid) : null), { what: "task failure" });
    expect(failed!.failure_reason).toBe("Exited with status 4");
    expect(failed!.exit_code).toBe(4);
    expect(s.logs.lines).toContainEqual(expect.objectContaining({ source_id: "app-t", source_type: "APP/TASK/migrate", stream: "OUT", message: "task 127.0.0.1 64m" }));
    expect(s.logs.lines).toContainEqual(expect.objectContaining({ source_type: `APP/TASK/${f.name}`, stream: "ERR", message: "oops" }));
  });

  test("appliance restart: live instances are re-adopted, dead ones restarted, orphans killed, tasks finish", async () => {
    await setup();
    const keep = await desire({ instances: 2 });
    const orphan = await desire({ instances: 1 });
    const task = makeTask({ command: "sleep 0.4; exit 5" });
    await s.backend.desireTask(task);
    await waitFor(async () => (await s.backend.getInstances(keep.process_guid)).every((i) => i.state === "RUNNING"), { what: "running" });
    await waitFor(async () => (await instance(orphan.process_guid))?.state === "RUNNING", { what: "orphan running" });
    await waitFor(async () => (await s.backend.getTask(task.guid))?.state === "RUNNING", { what: "task running" });
    const before = await s.backend.getInstances(keep.process_guid);
    const orphanGuid = (await instance(orphan.process_guid))!.instance_guid;

    // The appliance dies (nothing is stopped); meanwhile instance 1 dies and the orphan is no longer desired.
    s.backend.abandon();
    for (const pid of pidsOf(before[1]!.instance_guid)) process.kill(pid, "SIGKILL");
    s.store.db.query("DELETE FROM opi_local_lrps WHERE process_guid = ?").run(orphan.process_guid);

    const next = s.reopen();
    const seen: OpiEvent[] = [];
    next.subscribe((e) => seen.push(e));
    await next.start();
    await waitFor(() => pidsOf(orphanGuid).length === 0, { what: "orphan killed" });
    const after = await waitFor(async () => {
      const xs = await next.getInstances(keep.process_guid);
      return xs.length === 2 && xs.every((i) => i.state === "RUNNING") && xs[1]!.instance_guid !== before[1]!.instance_guid ? xs : null;
    }, { what: "re-adopted and restarted" });
    expect(after[0]!.instance_guid).toBe(before[0]!.instance_guid);
    expect(after[0]!.port).toBe(before[0]!.port);
    expect((await fetch(`http://127.0.0.1:${after[0]!.port}/`)).status).toBe(200);
    expect(seen.some((e) => e.type === "crash" && e.index === 1)).toBe(true);
    expect(await next.getLRP(orphan.process_guid)).toBeNull();
    const t = await waitFor(async () => ((await next.getTask(task.guid))?.state === "FAILED" ? next.getTask(task.guid) : null), { what: "adopted task to finish" });
    expect(t!.failure_reason).toBe("Exited with status 5");
  });
});
