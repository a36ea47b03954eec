import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describeCf, startCfSession, type CfSession } from "../support/cf-cli.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";
import { nodeHello } from "./apps.ts";

/**
 * Isolation segments with the real cf CLI on the local backend: two cells,
 * one tagged "edge". A space bound to the "edge" segment places its apps on
 * the tagged cell only (the CELL log line names the cell); other spaces
 * never land there; a reset takes effect on restart, as in CF.
 */
let s: CfSession;
const cellsOf = async (app: string) => {
  const logs = (await s.ok(["logs", app, "--recent"])).stdout;
  return [...logs.matchAll(/Cell (\S+) creating container/g)].map((m) => m[1]);
};

describeCf("real cf CLI: isolation segments place apps on tagged cells", () => {
  beforeAll(async () => {
    const dir = tempDir("eirini-iso-config-");
    const config = join(dir, "config.json");
    writeFileSync(config, JSON.stringify({ cells: { list: [{ name: "plain" }, { name: "edge-cell", placementTags: ["edge"] }] } }));
    s = await startCfSession({ args: ["--config", config] });
    await s.ok(["create-org", "acme"]);
    await s.ok(["create-space", "fenced", "-o", "acme"]);
    await s.ok(["create-space", "open", "-o", "acme"]);
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
    cleanupTempDirs();
  });

  test("create-isolation-segment, enable-org-isolation, isolation-segments, set-space-isolation-segment", async () => {
    await s.ok(["create-isolation-segment", "edge"]);
    expect((await s.ok(["create-isolation-segment", "edge"])).out).toContain("Isolation segment 'edge' already exists.");
    await s.ok(["target", "-o", "acme"]);
    const refused = await s.cf(["set-space-isolation-segment", "fenced", "edge"]);
    expect(refused.out).toContain("Ensure it has been entitled to the organization that this space belongs to.");
    await s.ok(["enable-org-isolation", "acme", "edge"]);
    expect((await s.ok(["isolation-segments"])).stdout).toMatch(/edge\s+acme/);
    await s.ok(["set-space-isolation-segment", "fenced", "edge"]);
    expect((await s.ok(["space", "fenced"])).stdout).toMatch(/isolation segment:\s+edge/);
  }, 60_000);

  test("apps in the bound space run only on the tagged cell; others never do", async () => {
    await s.ok(["target", "-o", "acme", "-s", "fenced"]);
    await s.ok(["push", "inside", "-p", nodeHello(), "-i", "2", "--no-route"]);
    await waitFor(async () => ((await cellsOf("inside")).length >= 2 ? true : null), { timeoutMs: 30_000 });
    expect(new Set(await cellsOf("inside"))).toEqual(new Set(["edge-cell"]));
    await s.ok(["target", "-o", "acme", "-s", "open"]);
    await s.ok(["push", "outside", "-p", nodeHello(), "-i", "2", "--no-route"]);
    await waitFor(async () => ((await cellsOf("outside")).length >= 2 ? true : null), { timeoutMs: 30_000 });
    expect(new Set(await cellsOf("outside"))).toEqual(new Set(["plain"]));
  }, 120_000);

  test("reset-space-isolation-segment takes effect on restart; set-org-default-isolation-segment covers spaces without their own", async () => {
    await s.ok(["target", "-o", "acme", "-s", "fenced"]);
    await s.ok(["reset-space-isolation-segment", "fenced"]);
    const stats = async () => (JSON.parse((await s.ok(["curl", `/v3/apps/${(await s.ok(["app", "inside", "--guid"])).stdout.trim()}/processes/web/stats`])).stdout) as { resources: { isolation_segment: string | null }[] }).resources;
    expect((await stats()).map((r) => r.isolation_segment)).toEqual(["edge", "edge"]);
    await s.ok(["restart", "inside"]);
    expect((await stats()).map((r) => r.isolation_segment)).toEqual([null, null]);
    await s.ok(["set-org-default-isolation-segment", "acme", "edge"]);
    await s.ok(["restart", "inside"]);
    expect((await stats()).map((r) => r.isolation_segment)).toEqual(["edge", "edge"]);
    const disable = await s.cf(["disable-org-isolation", "acme", "edge"]);
    expect(disable.code).not.toBe(0);
  }, 120_000);
});
