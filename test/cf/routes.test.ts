import { afterAll, beforeAll, expect, test } from "bun:test";
import { describeCf, startCfSession, type CfSession } from "../support/cf-cli.ts";
import { waitFor } from "../support/poll.ts";
import { cleanupTempDirs } from "../support/tmp.ts";
import { answer, appGuid, nodeHello, routesOf } from "./apps.ts";

/** Route commands, checked through the API and the router; and the list-filter bugs they ran into. */
let s: CfSession;
type RouteList = { resources: { guid: string; host: string; path: string; destinations: { app: { guid: string } }[] }[] };
const routes = async (query: string) => (await s.api<RouteList>(`/v3/routes?${query}`)).body.resources;
const appName = async (host: string, path = "/") => {
  const text = await answer(s, host, path);
  return text.startsWith("HTTP") ? text : (JSON.parse(text) as { app: string }).app;
};

describeCf("real cf CLI: routes", () => {
  beforeAll(async () => {
    s = await startCfSession();
    const dir = nodeHello();
    await s.ok(["push", "alpha", "-p", dir, "--no-route"]);
    await s.ok(["push", "beta", "-p", dir]);
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
    cleanupTempDirs();
  });

  test("routes lists the app routes", async () => {
    const out = (await s.ok(["routes"])).stdout;
    expect(out).toMatch(/dev\s+beta\s+apps\.localhost\s+http\s+beta/);
  }, 30_000);

  test("create-route and check-route", async () => {
    await s.ok(["create-route", "apps.localhost", "--hostname", "r1"]);
    expect((await routes("hosts=r1&paths=")).map((r) => r.destinations)).toEqual([[]]);
    expect((await s.ok(["check-route", "apps.localhost", "--hostname", "r1"])).stdout).toContain("Route 'r1.apps.localhost' does exist.");
    expect((await s.ok(["check-route", "apps.localhost", "--hostname", "nope"])).stdout).toContain("Route 'nope.apps.localhost' does not exist.");
    expect((await s.cf(["create-route", "apps.localhost", "--hostname", "Bad_Host"])).code).not.toBe(0);
  }, 30_000);

  test("map-route onto an existing route: the app answers on it", async () => {
    await s.ok(["map-route", "alpha", "apps.localhost", "--hostname", "r1"]);
    const [r1] = await routes("hosts=r1&paths=");
    expect(r1?.destinations.map((d) => d.app.guid)).toEqual([await appGuid(s, "alpha")]);
    expect(await appName("r1")).toBe("alpha");
  }, 30_000);

  test("map-route to a new route with host and path, and to an existing one with a path", async () => {
    await s.ok(["map-route", "beta", "apps.localhost", "--hostname", "r1", "--path", "/b"]);
    expect(await routesOf(s, "beta")).toEqual(["beta.apps.localhost", "r1.apps.localhost/b"]);
    await s.ok(["create-route", "apps.localhost", "--hostname", "r2", "--path", "/p"]);
    await s.ok(["map-route", "alpha", "apps.localhost", "--hostname", "r2", "--path", "/p"]);
    expect(await routesOf(s, "alpha")).toEqual(["r1.apps.localhost", "r2.apps.localhost/p"]);
    // The instance sees its routes, paths included.
    expect((await s.ok(["env", "alpha"])).stdout).toContain('"r2.apps.localhost/p"');
  }, 30_000);

  test("path routes reach their app through the router", async () => {
    await waitFor(async () => (await appName("r1", "/b/x")) === "beta", { timeoutMs: 10_000, what: "r1/b to reach beta" });
    expect(await appName("r1", "/")).toBe("alpha");
    await waitFor(async () => (await appName("r2", "/p")) === "alpha", { timeoutMs: 10_000, what: "r2/p to reach alpha" });
  }, 30_000);

  test("unmap-route removes only that destination; the route stays", async () => {
    await s.ok(["unmap-route", "alpha", "apps.localhost", "--hostname", "r1"]);
    const [r1] = await routes("hosts=r1&paths=");
    expect(r1?.destinations).toEqual([]);
    expect(await routesOf(s, "alpha")).toEqual(["r2.apps.localhost/p"]);
    await waitFor(async () => (await appName("r1")) !== "alpha", { timeoutMs: 10_000, what: "r1 to stop reaching alpha" });
    await s.ok(["unmap-route", "alpha", "apps.localhost", "--hostname", "r2", "--path", "/p"]);
    expect(await routesOf(s, "alpha")).toEqual([]);
  }, 30_000);

  test("delete-route really deletes the route (host only, then host and path)", async () => {
    await s.ok(["delete-route", "-f", "apps.localhost", "--hostname", "r1"]);
    expect(await routes("hosts=r1&paths=")).toEqual([]);
    expect((await routes("hosts=r1&paths=/b")).length).toBe(1);
    await s.ok(["delete-route", "-f", "apps.localhost", "--hostname", "r1", "--path", "/b"]);
    expect(await routes("hosts=r1")).toEqual([]);
    expect(await routesOf(s, "beta")).toEqual(["beta.apps.localhost"]);
  }, 30_000);

  test("delete-orphaned-routes deletes the unmapped routes and keeps the mapped ones", async () => {
    await s.ok(["create-route", "apps.localhost", "--hostname", "orphan"]);
    expect((await routes("hosts=orphan,r2")).length).toBe(2);
    await s.ok(["delete-orphaned-routes", "-f"]);
    expect(await routes("hosts=orphan,r2")).toEqual([]);
    expect(await routesOf(s, "beta")).toEqual(["beta.apps.localhost"]);
    expect(await appName("beta")).toBe("beta");
  }, 30_000);

  test("list filters decode once and keep empty values; order_by names only real keys", async () => {
    expect((await s.api<{ resources: unknown[] }>("/v3/apps?names=%25")).status).toBe(200);
    await s.ok(["create-app", "disc%41"]);
    const found = await s.api<{ resources: { name: string }[] }>("/v3/apps?names=disc%2541");
    expect(found.body.resources.map((a) => a.name)).toEqual(["disc%41"]);
    expect((await s.ok(["app", "disc%41"])).stdout).toMatch(/name:\s+disc%41/);
    for (const key of ["__proto__", "constructor", "toString"]) {
      const r = await s.api<{ errors: { title: string; detail: string }[] }>(`/v3/apps?order_by=${key}`);
      expect(r.status).toBe(400);
      expect(r.body.errors[0]?.title).toBe("CF-BadQueryParameter");
      expect(r.body.errors[0]?.detail).toContain("order_by");
    }
    expect((await s.api("/v3/apps?order_by=-name")).status).toBe(200);
  }, 30_000);
});
