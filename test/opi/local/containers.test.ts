import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { LRP, LRPInput, OpiEvent, Task } from "../../../src/model/index.ts";
import { waitFor } from "../../support/poll.ts";
import { cleanupTempDirs } from "../../support/tmp.ts";
import { makeLRP, makeTask } from "../contract.ts";
import { containersUnavailable, containerSetup, type ContainerSetup } from "./container-harness.ts";

// Real containers on a shared 2-core machine: starts can take longer than bun's 5 s default under load.
setDefaultTimeout(30_000);

afterAll(cleanupTempDirs);

const why = await containersUnavailable();

/** Host pid of a process group's leader, from the local backend's SQLite record. */
function recordedPid(s: ContainerSetup, guid: string): number {
  return (s.store.db.query("SELECT pid FROM opi_local_processes WHERE guid = ?").get(guid) as { pid: number } | null)?.pid ?? 0;
}

/** The cgroup file of a container (v1 as on these machines). */
function cgroupFile(controller: string, guid: string, file: string): string | null {
  const root = `/sys/fs/cgroup/${controller}`;
  for (const parent of readdirSync(root).filter((n) => n.startsWith("eirini-"))) {
    const p = join(root, parent, guid, file);
    if (existsSync(p)) return p;
  }
  return null;
}

(why ? describe.skip : describe)(`local backend with real containers${why ? ` (${why})` : ""}`, () => {
  let s: ContainerSetup;
  const events: OpiEvent[] = [];
  beforeAll(async () => {
    s = await containerSetup({ pidsLimit: 64 });
    s.backend.subscribe((e) => events.push(e));
  });
  afterAll(async () => {
    await s?.close();
  }, 30_000);

  const life = (start_command = "") => ({ lifecycle: { buildpack_lifecycle: { droplet_guid: "d", droplet_hash: s.nodeHash, start_command } } });
  async function desire(over: Partial<LRPInput> = {}, command = ""): Promise<LRP> {
    const lrp = makeLRP(life(command), over);
    await s.backend.desireLRP(lrp);
    return lrp;
  }
  const running = (pg: string, n = 1) =>
    waitFor(async () => {
      const xs = await s.backend.getInstances(pg);
      return xs.length === n && xs.every((i) => i.state === "RUNNING") ? xs : null;
    }, { timeoutMs: 20_000, what: `${n} running instance(s) of ${pg}` });
  const crashOf = (pg: string) => waitFor(() => events.find((e): e is Extract<OpiEvent, { type: "crash" }> => e.type === "crash" && e.process_guid === pg), { timeoutMs: 20_000, what: `a crash of ${pg}` });

  /** Runs a shell command as a task in a container; resolves with its final status and output lines. */
  async function task(command: string, over: Partial<Task> = {}): Promise<{ state: string; reason: string; out: string[] }> {
    const t = makeTask({ command, lifecycle: { buildpack_lifecycle: { droplet_guid: "d", droplet_hash: s.nodeHash } } }, over);
    await s.backend.desireTask(t);
    const st = await waitFor(async () => {
      const x = await s.backend.getTask(t.guid);
      return x && (x.state === "SUCCEEDED" || x.state === "FAILED") ? x : null;
    }, { timeoutMs: 20_000, what: `task ${t.name}` });
    await Bun.sleep(50); // lets the last log poll run; the outcome above is already final
    const out = s.logs.lines.filter((l) => l.source_type === `APP/TASK/${t.name}`).map((l) => l.message);
    return { state: st.state, reason: st.failure_reason, out };
  }

  test("an instance runs as vcap on the stack + droplet, listens on $PORT at its own IP, with CF's environment", async () => {
    const lrp = await desire({ environment: { MY_VAR: "mine" } });
    const [i] = await running(lrp.process_guid);
    expect(i!.host).toMatch(/^10\.\d+\.\d+\.\d+$/);
    expect(i!.port).toBe(8080);
    const env = (await (await fetch(`http://${i!.host}:8080/env`)).json()) as Record<string, string>;
    expect(env).toMatchObject({ HOME: "/home/vcap/app", TMPDIR: "/home/vcap/tmp", PORT: "8080", USER: "vcap", MY_VAR: "mine", PROFILED: "yes", CF_INSTANCE_INTERNAL_IP: i!.host, CF_INSTANCE_ADDR: `${i!.host}:8080`, MEMORY_LIMIT: "256m" });
    expect(env.EIRINI_CELL_ROOT).toBeUndefined();
    expect(s.backend.routeTargets(lrp.routes["cf-router"]![0]!.hostname)).toMatchObject([{ process_guid: lrp.process_guid, index: 0, address: `${i!.host}:8080` }]);
    const r = await task(
      [
        'echo "uid=$(id -u) gid=$(id -g)"',
        "grep -E '^(CapEff|CapPrm|NoNewPrivs|Seccomp):' /proc/self/status",
        'echo "home=$(stat -c %U /home/vcap/app) app=$(stat -c %U /home/vcap/app/server.js)"',
        "echo changed > /home/vcap/app/server.js && echo droplet-writable",
        // seccomp: no new namespaces (a way to regain capabilities), no mounts.
        "if unshare -U true 2>/dev/null; then echo made-userns; else echo no-userns; fi",
        'echo "memory=$(cat /proc/1/cgroup >/dev/null; echo ok)"',
      ].join(" && "),
    );
    expect(r.state).toBe("SUCCEEDED");
    expect(r.out).toEqual(expect.arrayContaining(["uid=2000 gid=2000", "CapEff:\t0000000000000000", "CapPrm:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2", "home=vcap app=vcap", "droplet-writable", "no-userns"]));
    // The task changed its own copy: the instance's droplet is untouched.
    expect(await (await fetch(`http://${i!.host}:8080/`)).text()).toContain('"index":"0"');
    await s.backend.stopLRP(lrp.process_guid);
  });

  test("an app cannot read the data dir, secrets or the appliance's environ, nor see or signal other processes", async () => {
    const other = await desire();
    const [o] = await running(other.process_guid);
    const otherPid = recordedPid(s, o!.instance_guid);
    expect(otherPid).toBeGreaterThan(0);
    const r = await task(
      [
        `test ! -e '${s.dir}'`,
        `test ! -e '${join(s.dir, "eirini.db")}'`,
        `! cat /proc/${process.pid}/environ 2>/dev/null`,
        `! kill -0 ${process.pid} 2>/dev/null`,
        `! kill -0 ${otherPid} 2>/dev/null`,
        'echo "pids=$(ls /proc | grep -c "^[0-9]")"',
        "ps -e -o pid=,comm= | sed 's/^ */ps /'",
        // Signalling everything it can reach only reaches its own container.
        "kill -9 -1 2>/dev/null; true",
      ].join(" && "),
    );
    const pids = Number(r.out.find((l) => l.startsWith("pids="))?.slice(5));
    expect(pids).toBeGreaterThan(0);
    expect(pids).toBeLessThanOrEqual(5);
    expect(r.out.filter((l) => l.startsWith("ps ")).every((l) => /^ps\s+\d+ (busybox|sh|ps|sed|grep|ls)$/.test(l))).toBe(true);
    expect(process.kill(process.pid, 0)).toBe(true);
    expect((await s.backend.getInstances(other.process_guid))[0]).toMatchObject({ state: "RUNNING", instance_guid: o!.instance_guid });
    expect((await fetch(`http://${o!.host}:8080/`)).status).toBe(200);
    await s.backend.stopLRP(other.process_guid);
  });

  test("an app cannot reach the appliance's loopback ports, the host, or other apps except through routes", async () => {
    const target = await desire();
    const [t] = await running(target.process_guid);
    const loopback = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("appliance") });
    const [a, b, c] = t!.host.split(".").map(Number) as [number, number, number];
    const gateway = `${a}.${b}.${c & ~3}.1`;
    // A listener on the bridge's own address: reachable by routing, so only the INPUT rule keeps apps out.
    const onBridge = Bun.serve({ hostname: gateway, port: 0, fetch: () => new Response("host") });
    try {
      const r = await task(
        [
          // A positive control: the probe does reach a listener of the container's own.
          `node -e "require('http').createServer((q, r) => r.end('self')).listen(${loopback.port}, '127.0.0.1')" & sleep 0.5; curl -s -m 1 http://127.0.0.1:${loopback.port}/ && echo " <- own listener"; kill %1`,
          `if curl -s -m 1 http://${gateway}:${loopback.port}/; then echo reached-host; fi`,
          `if curl -s -m 1 http://${gateway}:${onBridge.port}/; then echo reached-host-on-bridge; fi`,
          `if curl -s -m 1 http://${gateway}:${loopback.port}/; then echo reached-host; fi`,
          `if curl -s -m 1 http://${gateway}:${onBridge.port}/; then echo reached-host-on-bridge; fi`,
          `if curl -s -m 1 http://${t!.host}:8080/; then echo reached-other-app; fi`,
          "echo probes-done",
        ].join("; "),
      );
      expect(r.out).toContain("probes-done");
      expect(r.out).toContain("self <- own listener");
      expect(r.out.filter((l) => l.startsWith("reached"))).toEqual([]);
      // The appliance itself (the router's side) reaches the app at its container IP.
      expect((await fetch(`http://${t!.host}:8080/`)).status).toBe(200);
    } finally {
      loopback.stop(true);
      onBridge.stop(true);
      await s.backend.stopLRP(target.process_guid);
    }
  });

  test("when the appliance listens beyond loopback, its port (and only it) is open to apps: they reach each other through routes", async () => {
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    const o = await containerSetup({}, { openPorts: () => [port] });
    try {
      const lrp = makeLRP({ lifecycle: { buildpack_lifecycle: { droplet_guid: "d", droplet_hash: o.nodeHash, start_command: "" } } });
      await o.backend.desireLRP(lrp);
      const [i] = await waitFor(async () => {
        const xs = await o.backend.getInstances(lrp.process_guid);
        return xs[0]?.state === "RUNNING" ? xs : null;
      }, { timeoutMs: 20_000, what: "an instance" });
      const [a, b, c] = i!.host.split(".").map(Number) as [number, number, number];
      const gateway = `${a}.${b}.${c & ~3}.1`;
      const router = Bun.serve({ hostname: gateway, port, fetch: () => new Response("router") });
      const other = Bun.serve({ hostname: gateway, port: 0, fetch: () => new Response("other") });
      try {
        const t = makeTask({ command: `curl -s -m 2 http://${gateway}:${port}/; echo; if curl -s -m 1 http://${gateway}:${other.port}/; then echo reached-other-port; fi; echo done`, lifecycle: { buildpack_lifecycle: { droplet_guid: "d", droplet_hash: o.nodeHash } } });
        await o.backend.desireTask(t);
        await waitFor(async () => (await o.backend.getTask(t.guid))?.state === "SUCCEEDED", { timeoutMs: 20_000, what: "the task" });
        await waitFor(() => o.logs.messages().includes("done"), { what: "the task's output" });
        expect(o.logs.messages()).toContain("router");
        expect(o.logs.messages()).not.toContain("reached-other-port");
      } finally {
        router.stop(true);
        other.stop(true);
      }
    } finally {
      await o.close();
    }
  });

  test("a memory hog is OOM-killed by its cgroup and reported as a crash: status 137, out of memory; it restarts at once", async () => {
    const lrp = await desire({ memory_mb: 64, health_check_type: "process" }, `exec node -e "const a=[]; setInterval(() => a.push(Buffer.alloc(16 << 20, 1)), 20)"`);
    const crash = await crashOf(lrp.process_guid);
    expect(crash).toMatchObject({ reason: "out of memory", exit_status: 137, index: 0 });
    expect(crash.exit_description).toBe("APP/PROC/WEB: Exited with status 137 (out of memory)");
    // Diego's policy: the first crashes restart at once.
    await waitFor(() => events.filter((e) => e.type === "crash" && e.process_guid === lrp.process_guid).length >= 2, { timeoutMs: 20_000, what: "a second crash after an immediate restart" });
    await s.backend.stopLRP(lrp.process_guid);
  });

  test("a fork bomb is held by the pids limit while the appliance and other apps stay responsive", async () => {
    const calm = await desire();
    const [c] = await running(calm.process_guid);
    const bomb = await desire({ health_check_type: "process" }, "f() { f | f & }; f; exec sleep 600");
    const [b] = await running(bomb.process_guid);
    const pidsFile = await waitFor(() => cgroupFile("pids", b!.instance_guid, "pids.current"), { what: "the bomb's pids cgroup" });
    const max = Number(readFileSync(cgroupFile("pids", b!.instance_guid, "pids.max")!, "utf8"));
    expect(max).toBe(64);
    // The kernel counts every fork the limit refused (pids.events "max"): the bomb ran into the wall, and never past it.
    const refused = () => Number(/max (\d+)/.exec(readFileSync(cgroupFile("pids", b!.instance_guid, "pids.events")!, "utf8"))?.[1] ?? 0);
    await waitFor(() => refused() > 0, { what: "the pids limit to refuse the bomb's forks" });
    expect(Number(readFileSync(pidsFile, "utf8"))).toBeLessThanOrEqual(max);
    for (let i = 0; i < 5; i++) expect((await fetch(`http://${c!.host}:8080/`)).status).toBe(200);
    expect((await s.backend.getInstances(calm.process_guid))[0]!.state).toBe("RUNNING");
    await s.backend.stopLRP(bomb.process_guid);
    await waitFor(() => cgroupFile("pids", b!.instance_guid, "pids.current") === null, { what: "the bomb's cgroup to go" });
    await s.backend.stopLRP(calm.process_guid);
  });

  test("a disk hog is killed once its writable layer passes disk_mb and reported as disk quota exceeded", async () => {
    const lrp = await desire({ disk_mb: 16, health_check_type: "process" }, "dd if=/dev/zero of=/home/vcap/app/big bs=1M count=48 2>/dev/null; exec sleep 600");
    const crash = await crashOf(lrp.process_guid);
    expect(crash).toMatchObject({ reason: "disk quota exceeded", exit_status: 137 });
    expect(crash.exit_description).toContain("disk quota exceeded");
    await s.backend.stopLRP(lrp.process_guid);
  });

  test("after a kill -9 of the appliance the next start re-adopts its containers and removes those no longer wanted", async () => {
    const keep = await desire({ instances: 2 });
    const orphan = await desire();
    const before = await running(keep.process_guid, 2);
    const [gone] = await running(orphan.process_guid);
    s.backend.abandon();
    s.store.db.query("DELETE FROM opi_local_lrps WHERE process_guid = ?").run(orphan.process_guid);
    // The containers outlive the appliance.
    expect((await fetch(`http://${before[0]!.host}:8080/`)).status).toBe(200);
    const next = s.reopen();
    await next.start();
    const after = await waitFor(async () => {
      const xs = await next.getInstances(keep.process_guid);
      return xs.length === 2 && xs.every((i) => i.state === "RUNNING") ? xs : null;
    }, { timeoutMs: 20_000, what: "re-adopted instances" });
    expect(after.map((i) => i.instance_guid)).toEqual(before.map((i) => i.instance_guid));
    expect(after.map((i) => i.host)).toEqual(before.map((i) => i.host));
    expect((await fetch(`http://${after[1]!.host}:8080/`)).status).toBe(200);
    await waitFor(() => !existsSync(join(s.dir, "opi-local", "containers", "bundles", gone!.instance_guid)), { what: "the leftover's bundle to go" });
    expect(cgroupFile("memory", gone!.instance_guid, "memory.limit_in_bytes")).toBeNull();
    await next.stopLRP(keep.process_guid);
    const left = () => readdirSync(join(s.dir, "opi-local", "containers", "bundles")).filter((b) => after.some((i) => i.instance_guid === b));
    await waitFor(() => left().length === 0, { what: "the stopped containers' bundles to go" });
  });
});
