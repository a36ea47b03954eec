import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { describeCf, startCfSession, type CfSession } from "../support/cf-cli.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs } from "../support/tmp.ts";
import { answer, appGuid, nodeHello } from "./apps.ts";

/** Orgs and spaces with the real cf CLI: create, rename, delete (recursively, through the Sink), metadata, roles of their creator. */
let s: CfSession;

// Every live process whose environment names the app: what "nothing left running" means on the local backend.
function processesOf(appGuidValue: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, "latin1").includes(appGuidValue)) pids.push(Number(d));
    } catch {
      // gone or not ours to read
    }
  }
  return pids;
}

describeCf("real cf CLI: orgs and spaces", () => {
  beforeAll(async () => {
    s = await startCfSession();
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
    cleanupTempDirs();
  });

  test("create-org and create-space: the creator gets CF's roles; orgs and spaces list them", async () => {
    const org = await s.ok(["create-org", "team-a"]);
    expect(org.stdout).toContain("Creating org team-a as admin...");
    expect((await s.ok(["create-org", "team-a"])).stdout).toContain("Organization 'team-a' already exists.");
    const space = await s.ok(["create-space", "web", "-o", "team-a"]);
    expect(space.stdout).toContain("Assigning role SpaceDeveloper to user admin in org team-a / space web as admin...");
    expect((await s.ok(["create-space", "web", "-o", "team-a"])).stdout).toContain("Space 'web' already exists.");
    expect((await s.ok(["orgs"])).stdout).toMatch(/eirini\s*\n\s*team-a/);
    await s.ok(["target", "-o", "team-a"]);
    expect((await s.ok(["spaces"])).stdout).toContain("web");
    const users = (await s.ok(["space-users", "team-a", "web"])).stdout;
    expect(users).toMatch(/SPACE MANAGER\s*\n\s*admin/);
    expect(users).toMatch(/SPACE DEVELOPER\s*\n\s*admin/);
    expect((await s.ok(["org-users", "team-a", "-a"])).stdout).toMatch(/USERS\s*\n\s*admin/);
    await s.ok(["target", "-o", "eirini", "-s", "dev"]);
  }, 60_000);

  test("rename-org and rename-space; a taken name is refused", async () => {
    await s.ok(["create-org", "old-org"]);
    await s.ok(["rename-org", "old-org", "new-org"]);
    expect((await s.ok(["org", "new-org"])).stdout).toContain("new-org");
    expect((await s.cf(["org", "old-org"])).out).toContain("Organization 'old-org' not found.");
    const taken = await s.cf(["rename-org", "new-org", "eirini"]);
    expect(taken.code).not.toBe(0);
    expect(taken.out).toContain("Organization 'eirini' already exists.");
    await s.ok(["create-space", "s1", "-o", "new-org"]);
    await s.ok(["create-space", "s2", "-o", "new-org"]);
    await s.ok(["target", "-o", "new-org"]);
    await s.ok(["rename-space", "s1", "s3"]);
    expect((await s.ok(["spaces"])).stdout).toMatch(/s2\s*\n\s*s3/);
    expect((await s.cf(["rename-space", "s3", "s2"])).code).not.toBe(0);
    await s.ok(["target", "-o", "eirini", "-s", "dev"]);
  }, 60_000);

  test("metadata on orgs and spaces as on apps", async () => {
    await s.ok(["set-label", "org", "team-a", "tier=gold"]);
    await s.ok(["set-label", "space", "dev", "env=test"]);
    expect((await s.ok(["labels", "org", "team-a"])).stdout).toMatch(/tier\s+gold/);
    expect((await s.ok(["labels", "space", "dev"])).stdout).toMatch(/env\s+test/);
    const sel = await s.api<{ resources: { name: string }[] }>("/v3/organizations?label_selector=tier%3Dgold");
    expect(sel.body.resources.map((o) => o.name)).toEqual(["team-a"]);
  }, 30_000);

  test("delete-space and delete-org remove everything inside, with nothing left running", async () => {
    await s.ok(["create-space", "doomed", "-o", "team-a"]);
    await s.ok(["target", "-o", "team-a", "-s", "doomed"]);
    await s.ok(["push", "doomed-app", "-p", nodeHello()]);
    const guid = await appGuid(s, "doomed-app");
    await waitFor(async () => (await answer(s, "doomed-app")).startsWith("HTTP") ? null : true, { timeoutMs: 30_000 });
    expect(processesOf(guid).length).toBeGreaterThan(0);
    await s.ok(["delete-space", "doomed", "-o", "team-a", "-f"]);
    expect((await s.api(`/v3/apps/${guid}`)).status).toBe(404);
    await waitFor(() => (processesOf(guid).length === 0 ? true : null), { timeoutMs: 30_000 });
    await waitFor(async () => ((await answer(s, "doomed-app")) === "HTTP 404" ? true : null), { timeoutMs: 30_000 });

    await s.ok(["create-space", "inner", "-o", "team-a"]);
    await s.ok(["target", "-o", "team-a", "-s", "inner"]);
    await s.ok(["push", "org-app", "-p", nodeHello()]);
    const orgApp = await appGuid(s, "org-app");
    await s.ok(["delete-org", "team-a", "-f"]);
    expect((await s.api(`/v3/apps/${orgApp}`)).status).toBe(404);
    await waitFor(() => (processesOf(orgApp).length === 0 ? true : null), { timeoutMs: 30_000 });
    const left = await s.api<{ resources: unknown[] }>("/v3/roles?organization_guids=x");
    expect(left.status).toBe(200);
    const events = await s.api<{ resources: { type: string; actor: { name: string } }[] }>("/v3/audit_events?types=audit.organization.delete-request");
    expect(events.body.resources.map((e) => e.actor.name)).toEqual(["admin"]);
    await s.ok(["target", "-o", "eirini", "-s", "dev"]);
  }, 120_000);
});
