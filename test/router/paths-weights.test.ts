import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { startRouter, startUpstream, target, type RouterHarness } from "./harness.ts";

/** Route paths (longest prefix on segments, path unchanged) and weighted destinations. */
describe("router: route paths and weights", () => {
  let r: RouterHarness;
  const apps: Server<unknown>[] = [];
  const up = (name: string) => {
    const s = startUpstream(name);
    apps.push(s);
    return s;
  };

  beforeAll(() => {
    r = startRouter();
    const root = up("root");
    const priv = up("private");
    const deep = up("deep");
    // Two apps on one host, as `cf map-route second apps.localhost --hostname echo --path /private-area` leaves them.
    r.routes.set("echo.apps.localhost", [
      target(root, { process_guid: "root-pg", app_guid: "root-app", path: "" }),
      target(priv, { process_guid: "priv-pg", app_guid: "priv-app", path: "/private-area" }),
      target(deep, { process_guid: "deep-pg", app_guid: "deep-app", path: "/private-area/deeper" }),
    ]);
    // Only a path route, and one whose instances are all down.
    r.routes.set("only.apps.localhost", [target(priv, { path: "/api" })]);
    r.paths.set("only.apps.localhost", ["/api", "/down"]);
  });
  afterAll(async () => {
    await r.close();
    for (const s of apps) s.stop(true);
  });

  const cases: [string, string][] = [
    ["/", "root"],
    ["/index.html", "root"],
    ["/private-areas", "root"],
    ["/private-area-x/y", "root"],
    ["/private-area", "private"],
    ["/private-area/", "private"],
    ["/private-area?x=1", "private"],
    ["/PRIVATE-AREA/doc", "private"],
    ["/private-area/deep", "private"],
    ["/private-area/deeper", "deep"],
    ["/private-area/deeper/x?y=/z", "deep"],
  ];

  test("every request lands on the right app, many times over (longest path prefix on segment boundaries)", async () => {
    const wrong: string[] = [];
    const requests = Array.from({ length: 300 }, (_, i) => cases[i % cases.length]!);
    for (let i = 0; i < requests.length; i += 30) {
      await Promise.all(
        requests.slice(i, i + 30).map(async ([path, want]) => {
          const res = await r.get("echo.apps.localhost", path);
          const body = (await res.json()) as { name: string; path: string };
          if (body.name !== want) wrong.push(`${path} -> ${body.name} (want ${want})`);
          // The path goes on unchanged, prefix included.
          if (body.path !== path) wrong.push(`${path} arrived as ${body.path}`);
        }),
      );
    }
    expect(wrong).toEqual([]);
  });

  test("a host with only path routes: 404 outside them, 503 for a path whose instances are down", async () => {
    expect((await r.get("only.apps.localhost", "/api/v1")).status).toBe(200);
    const outside = await r.get("only.apps.localhost", "/other");
    expect(outside.status).toBe(404);
    expect(outside.headers.get("x-cf-routererror")).toBe("unknown_route");
    const down = await r.get("only.apps.localhost", "/down/x");
    expect(down.status).toBe(503);
    expect(down.headers.get("x-cf-routererror")).toBe("no_endpoints");
  });

  test("weighted destinations: the ratio holds over a fixed number of requests, round-robin within each", async () => {
    const heavy = [up("h0"), up("h1")];
    const light = up("l0");
    r.routes.set("weighted.apps.localhost", [
      ...heavy.map((s, i) => target(s, { process_guid: "heavy", index: i, weight: 3 })),
      target(light, { process_guid: "light", weight: 1 }),
    ]);
    const counts: Record<string, number> = {};
    const N = 400;
    for (let i = 0; i < N; i += 20) {
      const names = await Promise.all(Array.from({ length: 20 }, async () => (await r.get("weighted.apps.localhost")).headers.get("x-upstream")!));
      for (const n of names) counts[n] = (counts[n] ?? 0) + 1;
    }
    const heavyShare = ((counts.h0 ?? 0) + (counts.h1 ?? 0)) / N;
    // 3:1 -> 75 % for the heavy destination; the smooth weighted round-robin is exact per cycle, allow 5 %.
    expect(Math.abs(heavyShare - 0.75)).toBeLessThanOrEqual(0.05);
    // Round-robin inside the heavy destination: its two instances share evenly.
    expect(Math.abs((counts.h0 ?? 0) - (counts.h1 ?? 0))).toBeLessThanOrEqual(N * 0.05);
  });
});
