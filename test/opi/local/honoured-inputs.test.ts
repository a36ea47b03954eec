import { afterAll, afterEach, describe, expect, test } from "bun:test";
import type { LRP, LRPInput, OpiEvent } from "../../../src/model/index.ts";
import { FakeExecutor, ManualClock } from "../../../src/opi/local/index.ts";
import { LogRateLimiter } from "../../../src/opi/log-rate.ts";
import { HTTP_START, putDroplet } from "../../support/droplet.ts";
import { waitFor } from "../../support/poll.ts";
import { cleanupTempDirs } from "../../support/tmp.ts";
import { makeLRP, makeTask } from "../contract.ts";
import { localSetup, type LocalSetup } from "./harness.ts";

/**
 * What the Cloud Controller now passes down instead of dropping, as the local
 * backend honours it: the log rate limit (lines beyond it dropped, one CF
 * notice), the readiness check (routing only, never a restart) and the
 * health check interval (the liveness period).
 */
afterAll(cleanupTempDirs);

/** An app whose /ready answers 200 only while `ready-flag` exists in its own directory. */
const READY_APP = `
const { existsSync, writeFileSync, rmSync } = require("node:fs");
Bun.serve({ port: Number(process.env.PORT), hostname: "127.0.0.1", fetch(req) {
  const p = new URL(req.url).pathname;
  if (p === "/ready") return new Response("ready?", { status: existsSync("ready-flag") ? 200 : 503 });
  if (p === "/make-ready") { writeFileSync("ready-flag", "1"); return new Response("ok"); }
  if (p === "/make-unready") { rmSync("ready-flag", { force: true }); return new Response("ok"); }
  return new Response("hi");
} });
`;

describe("log rate limit", () => {
  test("a token bucket of the limit per second: lines beyond it dropped, one notice per second in CF's words", () => {
    let t = 10_000;
    const r = new LogRateLimiter(100, () => t);
    expect([r.admit(60), r.admit(60), r.admit(10), r.admit(60)]).toEqual(["pass", "notice", "pass", "drop"]);
    t += 1000;
    expect([r.admit(60), r.admit(60), r.admit(60)]).toEqual(["pass", "notice", "drop"]);
    expect(r.notice).toBe("app instance exceeded log rate limit (100 bytes/sec)");
  });

  describe("real processes", () => {
    let s: LocalSetup;
    afterEach(async () => {
      await s?.close();
    });
    // 50 lines of 99 bytes at once, then serve: far more than 1000 bytes in the first second.
    const FLOOD = `i=0; while [ $i -lt 50 ]; do printf '%099d\\n' $i; i=$((i+1)); done; ${HTTP_START}`;
    const flooded = (sourceType: string) => s.logs.lines.filter((l) => l.source_type === sourceType && /^0{40}/.test(l.message));
    const notices = (sourceType: string) => s.logs.lines.filter((l) => l.source_type === sourceType && l.message === "app instance exceeded log rate limit (1000 bytes/sec)");

    test("an instance over its limit: lines dropped where they enter the log store, CF's notice line instead", async () => {
      s = await localSetup();
      const capped = makeLRP({ lifecycle: { buildpack_lifecycle: { droplet_guid: "d", droplet_hash: s.httpHash, start_command: FLOOD } } }, { log_rate_limit_bytes_per_second: 1000, app_guid: "capped" });
      const free = makeLRP({ lifecycle: { buildpack_lifecycle: { droplet_guid: "d", droplet_hash: s.httpHash, start_command: FLOOD } } }, { process_type: "worker" });
      await s.backend.desireLRP(capped);
      await s.backend.desireLRP(free);
      // Unlimited (CF's -1): every line arrives.
      await waitFor(() => flooded("APP/PROC/WORKER").length === 50, { what: "all 50 lines of the unlimited instance" });
      await waitFor(() => notices("APP/PROC/WEB").length >= 1, { what: "the rate-limit notice" });
      const kept = flooded("APP/PROC/WEB").length;
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(50);
      expect(notices("APP/PROC/WORKER")).toEqual([]);
    });

    test("a task over its limit", async () => {
      s = await localSetup();
      const t = makeTask({ command: FLOOD.replace(HTTP_START, "true"), lifecycle: { buildpack_lifecycle: { droplet_guid: "d", droplet_hash: s.httpHash } } }, { name: "flood", log_rate_limit_bytes_per_second: 1000 });
      await s.backend.desireTask(t);
      await waitFor(async () => (await s.backend.getTask(t.guid))?.state === "SUCCEEDED", { what: "task done" });
      await waitFor(() => notices("APP/TASK/flood").length >= 1, { what: "the rate-limit notice" });
      expect(flooded("APP/TASK/flood").length).toBeLessThan(50);
    });
  });
});

describe("readiness check and health check interval", () => {
  let s: LocalSetup;
  let events: OpiEvent[];
  afterEach(async () => {
    await s?.close();
  });

  test("a failing readiness check keeps a RUNNING instance out of its routes without restarting it", async () => {
    s = await localSetup();
    events = [];
    s.backend.subscribe((e) => events.push(e));
    const hash = await putDroplet(s.store.blobs, { "app/server.js": READY_APP }, HTTP_START);
    const lrp = makeLRP({ lifecycle: { buildpack_lifecycle: { droplet_guid: "d", droplet_hash: hash, start_command: "" } } }, { readiness_health_check: { type: "http", http_endpoint: "/ready", interval_ms: 20 } });
    const host = lrp.routes["cf-router"]![0]!.hostname;
    lrp.routes["cf-router"]![0]!.options = { loadbalancing: "least-connection" };
    await s.backend.desireLRP(lrp);
    const running = await waitFor(async () => {
      const i = (await s.backend.getInstances(lrp.process_guid))[0];
      return i?.state === "RUNNING" ? i : null;
    }, { what: "RUNNING (liveness: port)" });
    // Not ready yet: RUNNING but routed nowhere.
    expect(s.backend.routeTargets(host)).toEqual([]);
    await fetch(`http://127.0.0.1:${running.port}/make-ready`);
    await waitFor(() => s.backend.routeTargets(host).length === 1, { what: "in the route once ready" });
    // The route's load-balancing option travels with its targets to the router.
    expect(s.backend.routeTargets(host)[0]!.loadbalancing).toBe("least-connection");
    await fetch(`http://127.0.0.1:${running.port}/make-unready`);
    await waitFor(() => s.backend.routeTargets(host).length === 0, { what: "out of the route once not ready" });
    const now = (await s.backend.getInstances(lrp.process_guid))[0]!;
    expect({ state: now.state, guid: now.instance_guid }).toEqual({ state: "RUNNING", guid: running.instance_guid });
    expect(events.filter((e) => e.type === "crash")).toEqual([]);
    const cell = s.logs.lines.filter((l) => l.source_type === "CELL").map((l) => l.message);
    expect(cell).toContainEqual(expect.stringContaining("Container passed the readiness health check"));
    expect(cell).toContainEqual(expect.stringContaining("Container failed the readiness health check"));
  });

  test("the health check interval is the liveness period (injected clock)", async () => {
    const clock = new ManualClock();
    const fake = new FakeExecutor();
    let probes = 0;
    const probe = fake.probe.bind(fake);
    fake.probe = (h, spec) => {
      probes++;
      return probe(h, spec);
    };
    s = await localSetup({ backend: { executor: fake, clock } });
    const over: Partial<LRPInput> = { health_check_interval_ms: 7_000 };
    const lrp: LRP = makeLRP({ lifecycle: { buildpack_lifecycle: { droplet_guid: "d", droplet_hash: "a".repeat(64), start_command: "serve" } } }, over);
    await s.backend.desireLRP(lrp);
    await waitFor(async () => (await s.backend.getInstances(lrp.process_guid))[0]?.state === "RUNNING", { what: "RUNNING" });
    probes = 0;
    // The liveness timer fires inside advance() and calls the probe synchronously, so counts are exact.
    clock.advance(6_999);
    expect(probes).toBe(0);
    clock.advance(1);
    expect(probes).toBe(1);
  });
});
