import { afterAll, beforeAll, expect, test } from "bun:test";
import { describeCf, startCfSession, type CfSession } from "../support/cf-cli.ts";
import { cleanupTempDirs } from "../support/tmp.ts";
import { nodeHello } from "./apps.ts";

/** Org and space quotas with the real cf CLI: the commands, and CF's refusals on scale, start, routes and tasks. */
let s: CfSession;

describeCf("real cf CLI: org and space quotas", () => {
  beforeAll(async () => {
    s = await startCfSession();
    await s.ok(["create-org", "acme"]);
    await s.ok(["create-space", "dev", "-o", "acme"]);
    await s.ok(["target", "-o", "acme", "-s", "dev"]);
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
    cleanupTempDirs();
  });

  test("the default org quota is unlimited; create-quota, quotas, quota, update-quota, set-quota, delete-quota", async () => {
    expect((await s.ok(["quota", "default"])).stdout).toMatch(/total memory:\s+unlimited/);
    await s.ok(["create-quota", "small", "-m", "1G", "-i", "512M", "-r", "2", "-a", "4"]);
    expect((await s.cf(["create-quota", "small"])).out).toContain("Organization Quota 'small' already exists.");
    const listed = (await s.ok(["quotas"])).stdout;
    expect(listed).toMatch(/default\s+unlimited\s+unlimited/);
    expect(listed).toMatch(/small\s+1G\s+512M\s+2/);
    await s.ok(["update-quota", "small", "-r", "3"]);
    expect((await s.ok(["quota", "small"])).stdout).toMatch(/routes:\s+3/);
    await s.ok(["set-quota", "acme", "small"]);
    expect((await s.ok(["org", "acme"])).stdout).toMatch(/quota:\s+small/);
    await s.ok(["create-quota", "spare"]);
    await s.ok(["delete-quota", "spare", "-f"]);
    expect((await s.cf(["quota", "spare"])).out).toContain("Organization quota with name 'spare' not found.");
    expect((await s.cf(["delete-quota", "small", "-f"])).out).toContain("This quota is applied to one or more organizations.");
  }, 60_000);

  test("a scale past the org quota is refused with CF's message, and nothing changes", async () => {
    await s.ok(["push", "q-app", "-p", nodeHello(), "-m", "256M", "--no-route"]);
    const tooMany = await s.cf(["scale", "q-app", "-i", "5"]);
    expect(tooMany.code).not.toBe(0);
    expect(tooMany.out).toContain("memory quota_exceeded");
    const tooBig = await s.cf(["scale", "q-app", "-m", "1G", "-f"]);
    expect(tooBig.code).not.toBe(0);
    expect(tooBig.out).toContain("memory instance_memory_limit_exceeded");
    expect((await s.ok(["app", "q-app"])).stdout).toMatch(/instances:\s+1\/1/);
    await s.ok(["scale", "q-app", "-i", "3"]);
  }, 120_000);

  test("routes past the quota are refused", async () => {
    await s.ok(["create-route", "apps.localhost", "--hostname", "r1"]);
    await s.ok(["create-route", "apps.localhost", "--hostname", "r2"]);
    await s.ok(["create-route", "apps.localhost", "--hostname", "r3"]);
    const r = await s.cf(["create-route", "apps.localhost", "--hostname", "r4"]);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("Routes quota exceeded for organization 'acme'.");
  }, 60_000);

  test("space quotas: create-space-quota, space-quotas, space-quota, set-space-quota refuses a task past it, unset-space-quota", async () => {
    await s.ok(["create-space-quota", "tiny", "-m", "800M"]);
    expect((await s.ok(["space-quotas"])).stdout).toMatch(/tiny\s+800M/);
    expect((await s.ok(["space-quota", "tiny"])).stdout).toMatch(/total memory:\s+800M/);
    await s.ok(["set-space-quota", "dev", "tiny"]);
    expect((await s.ok(["space", "dev"])).stdout).toMatch(/quota:\s+tiny/);
    // 3 x 256M run: a 256M task would make 1G.
    const task = await s.cf(["run-task", "q-app", "--command", "sleep 1", "-m", "256M"]);
    expect(task.code).not.toBe(0);
    expect(task.out).toContain("memory space_quota_exceeded");
    await s.ok(["unset-space-quota", "dev", "tiny"]);
    expect((await s.ok(["space", "dev"])).stdout).not.toContain("tiny");
  }, 60_000);
});
